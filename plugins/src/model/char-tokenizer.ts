/**
 * A character-level tokenizer in Hugging Face `tokenizer.json` form: a BPE model with one
 * token per character and no merges (so every character is its own token), special tokens
 * as added tokens, and a Fuse decoder. Both `tokenizers` (Python/Rust) and
 * @huggingface/tokenizers load it.
 */
export function charTokenizerJson(
  chars: string,
  specials: readonly string[] = ['<pad>', '<eos>', '<unk>'],
): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  specials.forEach((s, i) => {
    vocab[s] = i;
  });
  for (const ch of chars) if (!(ch in vocab)) vocab[ch] = Object.keys(vocab).length;
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
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: specials.includes('<unk>') ? '<unk>' : null,
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

/** tokenizer_config.json to go with it. */
export function charTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    pad_token: '<pad>',
    eos_token: '<eos>',
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    model_max_length: 64,
  };
}
