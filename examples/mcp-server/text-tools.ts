/**
 * The pure functions behind the example MCP server's tools: deterministic, no I/O, so a
 * workflow that calls them always gets the same answer.
 */

/** What `word_count` returns. */
export interface WordCount {
  readonly words: number;
  readonly characters: number;
  readonly sentences: number;
}

/** One keyword and how often it occurs. */
export interface Keyword {
  readonly word: string;
  readonly count: number;
}

/** Words too common to be keywords. */
const STOPWORDS = new Set(
  (
    'a about after all also an and any are as at be been but by can could do does for from had ' +
    'has have he her his how i if in into is it its just may more most no not of on one only or ' +
    'other our out over she so some such than that the their them then there these they this to ' +
    'up us was we were what when which while who will with would you your'
  ).split(' '),
);

/** The words of `text`: runs of letters, digits and apostrophes, lower-cased. */
export function wordsOf(text: string): string[] {
  return (text.match(/[\p{L}\p{N}']+/gu) ?? []).map((word) => word.toLowerCase());
}

/** Counts the words, characters and sentences (runs of text ended by `.`, `!` or `?`) of `text`. */
export function wordCount(text: string): WordCount {
  const sentences = text.split(/[.!?]+/).filter((part) => /[\p{L}\p{N}]/u.test(part)).length;
  return { words: wordsOf(text).length, characters: [...text].length, sentences };
}

/**
 * The `limit` most frequent words of `text` that are not stopwords and have at least 3
 * characters, most frequent first, ties in alphabetical order.
 */
export function extractKeywords(text: string, limit: number): Keyword[] {
  const counts = new Map<string, number>();
  for (const word of wordsOf(text)) {
    if (word.length < 3 || STOPWORDS.has(word)) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts]
    .map(([word, count]) => ({ word, count }))
    .sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0))
    .slice(0, limit);
}

/** The first sentence of `text` (up to and including its `.`, `!` or `?`), trimmed. */
export function firstSentence(text: string): string {
  return (text.trim().match(/^[^.!?]*[.!?]?/)?.[0] ?? '').trim();
}
