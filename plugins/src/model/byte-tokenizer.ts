/**
 * GPT-2's byte ↔ printable-character table: every byte gets a visible Unicode character so a
 * byte-level BPE vocabulary is plain strings.
 */
function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++)
    table[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return table;
}

/**
 * A byte-level tokenizer in Hugging Face `tokenizer.json` form: ByteLevel pre-tokenizer and
 * decoder (as GPT-2), a BPE model whose vocabulary is the 256 bytes and no merges — every
 * byte is a token, any text (UTF-8) round-trips. Special tokens come first.
 */
export function byteTokenizerJson(specials: readonly string[] = ['<pad>', '<eos>', '<unk>']): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  specials.forEach((s, i) => {
    vocab[s] = i;
  });
  for (const ch of bytesToUnicode()) vocab[ch] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}
