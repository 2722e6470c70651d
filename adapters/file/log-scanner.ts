/**
 * A byte-at-a-time reader of log lines (`[<index>,"entry","entry",…]\n`, see `log-file.ts`) that
 * never holds more than one entry: a line of any length is read in chunks, each entry's text is
 * kept only when it is wanted, and a wanted entry's bytes are dropped once its size passes the
 * bound (its size is still counted to its end, for the error). So a hostile or damaged log (one
 * huge line, one huge entry) cannot make a reader allocate much more than the bound, unlike
 * parsing a whole line.
 *
 * It checks the JSON of every entry it passes over (escapes, no raw control characters), and
 * decodes (strict UTF-8, then `JSON.parse`) only the wanted ones. A line is complete only at its
 * `\n`: the entries of a line still open are not counted or handed out.
 */

/** What the scanner needs from its caller. */
export interface LogScanOptions {
  /** The error for a damaged log (`reason` says what is wrong). */
  readonly corrupt: (reason: string) => Error;
  /** Whether the entry at this log index is wanted (its text kept). */
  readonly wants: (index: number) => boolean;
  /** The bound on a wanted entry, in UTF-8 bytes. */
  readonly maxEntryBytes: number;
  /** The error for a wanted entry over the bound (`bytes`: its UTF-8 size). */
  readonly tooLarge: (index: number, bytes: number) => Error;
  /**
   * Whether the first line may start at any index (reading from the middle of a log), which
   * {@link LogScanner.count} then starts from. Default: the first line starts at 0.
   */
  readonly anyStart?: boolean;
}

enum State {
  LineStart,
  IndexStart,
  Index,
  AfterValue,
  ValueStart,
  InString,
  Escape,
  Hex,
  LineClose,
  /** The line is damaged: skipped to its `\n`, where the failure is thrown. */
  Skip,
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
/** The escapes JSON allows after a backslash, besides `u`: `" \ / b f n r t`. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const LOWER_U = 0x75;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d;
}

function isHex(byte: number): boolean {
  return (
    (byte >= ZERO && byte <= NINE) ||
    (byte >= 0x41 && byte <= 0x46) ||
    (byte >= 0x61 && byte <= 0x66)
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads complete lines from bytes pushed in order (see the module comment). After each `push`,
 * {@link count} is the number of entries in the complete lines read so far, {@link lineEnd} the
 * offset just past the last complete line, and {@link take} hands out the wanted entries of
 * those lines.
 */
export class LogScanner {
  readonly #options: LogScanOptions;
  #state = State.LineStart;
  /** Entries of complete lines. */
  count = 0;
  /** Bytes pushed so far. */
  #offset = 0;
  /** The offset just past the last complete line's `\n` (0: none yet). */
  lineEnd = 0;
  /** The index the current line starts with (its digits so far while reading them). */
  #start = 0;
  #digits = 0;
  /** Entries of the current line so far. */
  #inLine = 0;
  /** Wanted entries of the current line (handed out once it is complete). */
  #lineEntries: string[] = [];
  /** Wanted entries of complete lines, not yet taken. */
  #ready: string[] = [];
  /** Whether the current string is wanted (its size is counted); whether its bytes are kept. */
  #wanted = false;
  #keeping = false;
  /** Its bytes so far (from earlier chunks), while kept. */
  #parts: Uint8Array[] = [];
  /** Its UTF-8 size so far, as `utf8Length` counts it (a lone surrogate is 3). */
  #bytes = 0;
  /** In a `\u` escape: hex digits still to read, and the code unit so far. */
  #hexLeft = 0;
  #unit = 0;
  /** Whether the last thing read in the string was a `\u` escape of a high surrogate. */
  #afterHigh = false;
  #firstLine = true;
  /** Why the current line is damaged (state Skip). */
  #failure: Error | undefined;

  constructor(options: LogScanOptions) {
    this.#options = options;
  }

  /** Whether the last byte pushed ended a line (nothing of a next line read yet). */
  get atLineEnd(): boolean {
    return this.#state === State.LineStart && this.#offset === this.lineEnd;
  }

  /** Bytes of the entry being read held from earlier chunks (while it is wanted and within the bound). */
  get heldBytes(): number {
    let bytes = 0;
    for (const part of this.#parts) bytes += part.length;
    return bytes;
  }

  /** The wanted entries of the complete lines read since the last call. */
  take(): string[] {
    const ready = this.#ready;
    this.#ready = [];
    return ready;
  }

  /**
   * Reads `chunk[0, length)`. Stops early, after a complete line, once `stopAfterLine()` says so
   * (it is asked after each line); returns how many bytes it read.
   */
  push(chunk: Uint8Array, length = chunk.length, stopAfterLine?: () => boolean): number {
    const { corrupt } = this.#options;
    const inString =
      this.#state === State.InString || this.#state === State.Escape || this.#state === State.Hex;
    let stringFrom = inString ? 0 : -1;
    for (let i = 0; i < length; i++) {
      const byte = chunk[i] as number;
      switch (this.#state) {
        case State.LineStart:
          if (byte === OPEN) this.#state = State.IndexStart;
          else if (!isSpace(byte)) {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          break;
        case State.IndexStart:
          if (byte >= ZERO && byte <= NINE) {
            this.#start = byte - ZERO;
            this.#digits = 1;
            this.#state = State.Index;
          } else if (!isSpace(byte)) {
            this.#fail(corrupt('a line does not start with its index'), byte);
            continue;
          }
          break;
        case State.Index:
          if (byte >= ZERO && byte <= NINE) {
            if (++this.#digits > 16 || (this.#digits === 2 && this.#start === 0)) {
              this.#fail(corrupt('a line does not start with its index'), byte);
              continue;
            }
            this.#start = this.#start * 10 + (byte - ZERO);
            break;
          }
          if (!Number.isSafeInteger(this.#start)) {
            this.#fail(corrupt('a line does not start with its index'), byte);
            continue;
          }
          if (this.#options.anyStart === true && this.#firstLine) this.count = this.#start;
          if (this.#start !== this.count) {
            this.#fail(corrupt(`a line starts at ${this.#start}, not ${this.count}`), byte);
            continue;
          }
          this.#state = State.AfterValue;
          i--; // the byte after the digits is read as the one after a value
          break;
        case State.AfterValue:
          if (byte === COMMA) this.#state = State.ValueStart;
          else if (byte === CLOSE) this.#state = State.LineClose;
          else if (!isSpace(byte)) {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          break;
        case State.ValueStart:
          if (byte === QUOTE) {
            this.#wanted = this.#options.wants(this.count + this.#inLine);
            this.#keeping = this.#wanted;
            this.#bytes = 0;
            this.#afterHigh = false;
            stringFrom = i + 1;
            this.#state = State.InString;
          } else if (!isSpace(byte)) {
            this.#fail(corrupt('a line holds something other than strings'), byte);
            continue;
          }
          break;
        case State.InString:
          if (byte === QUOTE) {
            if (this.#wanted && this.#bytes > this.#options.maxEntryBytes) {
              this.#fail(this.#options.tooLarge(this.count + this.#inLine, this.#bytes), byte);
              continue;
            }
            if (this.#keeping) this.#endString(chunk.subarray(stringFrom, i));
            stringFrom = -1;
            this.#inLine += 1;
            this.#state = State.AfterValue;
            break;
          }
          if (byte < 0x20) {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          if (byte === BACKSLASH) {
            this.#state = State.Escape;
            break;
          }
          {
            // A run of plain bytes, each a byte of the entry (the file is UTF-8): skipped at once
            // up to the next quote, backslash or control byte, which the loop reads next.
            let end = i + 1;
            while (end < length) {
              const next = chunk[end] as number;
              if (next === QUOTE || next === BACKSLASH || next < 0x20) break;
              end += 1;
            }
            this.#afterHigh = false;
            if (this.#wanted) this.#count(end - i);
            i = end - 1;
          }
          break;
        case State.Escape:
          if (byte === LOWER_U) {
            this.#hexLeft = 4;
            this.#unit = 0;
            this.#state = State.Hex;
          } else if (SIMPLE_ESCAPES.has(byte)) {
            this.#afterHigh = false;
            if (this.#wanted) this.#count(1);
            this.#state = State.InString;
          } else {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          break;
        case State.Hex:
          if (!isHex(byte)) {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          this.#unit = this.#unit * 16 + Number.parseInt(String.fromCharCode(byte), 16);
          if (--this.#hexLeft > 0) break;
          this.#state = State.InString;
          if (this.#wanted) this.#count(this.#unitBytes());
          break;
        case State.Skip:
          if (byte === NEWLINE) throw this.#failure;
          break;
        case State.LineClose:
          if (byte === NEWLINE) {
            this.#lineDone(i + 1);
            if (stopAfterLine?.() === true) {
              this.#offset += i + 1;
              return i + 1;
            }
          } else if (!isSpace(byte)) {
            this.#fail(corrupt('a line is not JSON'), byte);
            continue;
          }
          break;
      }
    }
    // A wanted string goes on in the next chunk: keep a copy of its bytes so far.
    // A copy (`new Uint8Array`): callers reuse their chunk, and Buffer's `slice` does not copy.
    if (stringFrom >= 0 && this.#keeping) {
      this.#parts.push(new Uint8Array(chunk.subarray(stringFrom, length)));
    }
    this.#offset += length;
    return length;
  }

  /** The UTF-8 bytes of the code unit of a `\u` escape just read (a surrogate pair is 3 + 1). */
  #unitBytes(): number {
    const unit = this.#unit;
    const paired = this.#afterHigh && unit >= 0xdc00 && unit <= 0xdfff;
    this.#afterHigh = unit >= 0xd800 && unit <= 0xdbff;
    if (paired) return 1;
    return unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
  }

  /**
   * Adds `bytes` to the wanted string's size. Past the bound, its bytes are dropped and only its
   * size is counted on, for the error at its end.
   */
  #count(bytes: number): void {
    this.#bytes += bytes;
    if (this.#keeping && this.#bytes > this.#options.maxEntryBytes) {
      this.#keeping = false;
      this.#parts = [];
    }
  }

  /**
   * A damaged line: thrown at its `\n` (now, if `byte` is it), so a torn last line without one
   * (an append cut short) is ignored like any torn line. Nothing of the line is kept meanwhile.
   */
  #fail(error: Error, byte: number): void {
    if (byte === NEWLINE) throw error;
    this.#failure = error;
    this.#wanted = false;
    this.#keeping = false;
    this.#parts = [];
    this.#state = State.Skip;
  }

  #lineDone(consumed: number): void {
    this.#firstLine = false;
    this.count += this.#inLine;
    this.#inLine = 0;
    this.lineEnd = this.#offset + consumed;
    for (const entry of this.#lineEntries) this.#ready.push(entry);
    this.#lineEntries = [];
    this.#state = State.LineStart;
  }

  #endString(tail: Uint8Array): void {
    const parts = this.#parts;
    this.#parts = [];
    let bytes: Uint8Array = tail;
    if (parts.length > 0) {
      parts.push(tail);
      bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.length;
      }
    }
    let text: string;
    try {
      text = JSON.parse(`"${utf8.decode(bytes)}"`) as string;
    } catch {
      throw this.#options.corrupt('a line is not JSON');
    }
    this.#lineEntries.push(text);
  }
}
