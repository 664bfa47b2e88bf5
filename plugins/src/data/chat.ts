import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { UserError } from '@e3/core';
import { readJsonFile } from '../model/json-file.js';
import { renderBounded, TemplateBoundError, type RenderBounds } from './bounded-template.js';

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** A chat conversation as one exact-answer example: loss on the last assistant turn. */
export interface ChatTurn {
  readonly prompt: string;
  readonly answer: string;
}

/** Renders `{messages}` records with a checkpoint's chat template. */
export interface ChatRenderer {
  render(messages: unknown, where: string): ChatTurn;
}

/** The special tokens a template may name (`{{ bos_token }}`), from tokenizer_config.json. */
const SPECIAL_VARIABLES = ['bos_token', 'eos_token', 'pad_token', 'unk_token'];

/**
 * The chat template of the checkpoint directory `dir`: tokenizer_config.json `chat_template`
 * (a string, or a list of named templates: "default"), else a chat_template.jinja file. Without
 * one, rendering fails naming the record and the fix (a file of plain records still loads).
 */
export function chatRenderer(dir: string): ChatRenderer {
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? readJsonFile(cfgFile, 'tokenizer_config.json') : {};
  const source = templateSource(cfg, dir);
  let template: Template | undefined;
  if (source) {
    try {
      template = new Template(source.text);
    } catch (e) {
      throw new UserError(`${source.file}: the chat template does not parse: ${(e as Error).message}`);
    }
  }
  const specials = Object.fromEntries(SPECIAL_VARIABLES.map((k) => [k, tokenText(cfg[k])]));
  return {
    render(messages, where) {
      const list = checkMessages(messages, where);
      if (!template) {
        throw new UserError(
          `${where}: a {messages} record needs a chat template, but ${cfgFile} has no "chat_template" ` +
            `(and ${dir} no chat_template.jinja) (fix: set the data node's params.tokenizer to a checkpoint ` +
            'with a chat template, e.g. an instruct model, or write the records as {prompt, answer})',
        );
      }
      return splitTurn({ template, file: source!.file }, list, specials, where);
    },
  };
}

function templateSource(cfg: Record<string, unknown>, dir: string): { text: string; file: string } | undefined {
  const file = join(dir, 'tokenizer_config.json');
  const t = cfg.chat_template;
  if (typeof t === 'string') return { text: t, file };
  if (Array.isArray(t)) {
    const named = t.find((x) => (x as { name?: string })?.name === 'default') as { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return { text: named.template, file };
  }
  const jinja = join(dir, 'chat_template.jinja');
  return existsSync(jinja) ? { text: readFileSync(jinja, 'utf8'), file: jinja } : undefined;
}

/** A special token's text: tokenizer_config.json writes it as a string or as {content}. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const content = (v as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : undefined;
}

const SHAPE_FIX =
  'fix: write "messages" as a list of {"role": ..., "content": ...} objects ending with an "assistant" message';

/** The messages of a record, checked: objects with string role and content, the last one the assistant's. */
function checkMessages(messages: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(messages)) {
    throw new UserError(`${where}: "messages" is ${describe(messages)}, not a list (${SHAPE_FIX})`);
  }
  messages.forEach((m, i) => {
    const isObject = typeof m === 'object' && m !== null && !Array.isArray(m);
    const r = (isObject ? m : {}) as Record<string, unknown>;
    for (const field of ['role', 'content']) {
      if (typeof r[field] !== 'string') {
        const got = isObject ? describe(r[field]) : `the message ${describe(m)}`;
        throw new UserError(`${where}: messages[${i}] needs a string "${field}" (got ${got}) (${SHAPE_FIX})`);
      }
    }
  });
  const list = messages as ChatMessage[];
  if (list.length < 2 || list[list.length - 1].role !== 'assistant') {
    throw new UserError(
      `${where}: a conversation needs at least one message and then the assistant's answer last ` +
        `(got ${list.length} message${list.length === 1 ? '' : 's'}` +
        `${list.length ? `, the last from "${list[list.length - 1].role}"` : ''}) (${SHAPE_FIX})`,
    );
  }
  return list;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** A parsed chat template and the file it came from (for errors). */
interface ChatTemplate {
  readonly template: Template;
  readonly file: string;
}

/**
 * What one rendering of a record may take: 250 000 evaluation steps and a thousand more per
 * message (Qwen3's template takes about 70 per message), 4 Mi characters per string plus the
 * record's own content 8 times over, 10 s. A real template stays far inside; a loop over
 * range(3000000) is refused before it starts, a shorter one stopped within a few seconds,
 * instead of running for minutes at gigabytes.
 */
function boundsFor(messages: readonly ChatMessage[]): RenderBounds {
  const content = messages.reduce((n, m) => n + m.content.length, 0);
  return { steps: 250_000 + 1_000 * messages.length, chars: 4 * 2 ** 20 + 8 * content, seconds: 10 };
}

/**
 * prompt = the messages before the last one, rendered with add_generation_prompt; answer = what
 * the whole conversation renders after that prompt (for Qwen3: the empty think block, the content
 * and <|im_end|>), less trailing whitespace and less a final eos_token, which e3 appends itself.
 */
function splitTurn(
  { template, file }: ChatTemplate,
  messages: ChatMessage[],
  specials: Record<string, string | undefined>,
  where: string,
): ChatTurn {
  const bounds = boundsFor(messages);
  const render = (list: ChatMessage[], add_generation_prompt: boolean) => {
    try {
      return renderBounded(template, { ...specials, messages: list, add_generation_prompt }, bounds);
    } catch (e) {
      if (e instanceof TemplateBoundError) {
        throw new UserError(
          `${where}: the chat template in ${file} was stopped rendering this record: ${e.what} ` +
            '(fix: use the chat template the model was trained with: one renders each message once, ' +
            'in a few dozen steps)',
        );
      }
      throw new UserError(`${where}: the chat template fails on this record: ${(e as Error).message}`);
    }
  };
  const prompt = render(messages.slice(0, -1), true);
  const full = render(messages, false);
  if (!full.startsWith(prompt)) {
    throw new UserError(
      `${where}: the chat template renders the conversation without the prompt it renders for its start ` +
        `(prompt ${describe(prompt.slice(-40))}), so the answer cannot be told apart ` +
        '(fix: use a template whose generation prompt is a prefix of the rendered conversation)',
    );
  }
  let answer = full.slice(prompt.length).trimEnd();
  const eos = specials.eos_token;
  if (eos && answer.endsWith(eos)) answer = answer.slice(0, -eos.length);
  if (!answer) throw emptyAnswer(messages[messages.length - 1], file, where);
  return { prompt, answer };
}

/** An empty answer: nothing to learn or to score, so every score on it would be 0% and silent. */
function emptyAnswer(last: ChatMessage, file: string, where: string): UserError {
  if (!last.content.trim()) {
    return new UserError(
      `${where}: the assistant's answer (the last message) is empty: nothing to learn or to score ` +
        '(fix: give it content, or remove the record)',
    );
  }
  return new UserError(
    `${where}: the chat template in ${file} renders nothing for the assistant's answer ` +
      `(content ${describe(last.content)}): it drops the assistant's turn, so every answer would be empty ` +
      "and score 0% (fix: use the model's own chat template, one that renders assistant messages)",
  );
}
