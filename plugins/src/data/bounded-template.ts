import { Environment, Interpreter, Template } from '@huggingface/jinja';

/** How much one rendering may do before it is stopped: a chat template is code the data brings. */
export interface RenderBounds {
  /** Evaluation steps (one per expression or statement the interpreter evaluates). */
  readonly steps: number;
  /** Characters of any string the template builds, its output included. */
  readonly chars: number;
  /** Wall-clock seconds, a backstop for steps that are slow on their own (a filter over a long list). */
  readonly seconds: number;
}

/**
 * A rendering stopped by its bounds; `what` says which one and what the template was doing
 * (the error of the data record that asked names the record and the template file).
 */
export class TemplateBoundError extends Error {
  constructor(readonly what: string) {
    super(what);
    this.name = 'TemplateBoundError';
  }
}

/** strftime_now as the library's own global renders it. */
const STRFTIME = new Template('{{ strftime_now(format) }}');

/**
 * The globals of Template.render (the library's setupGlobals, which it does not export), with
 * `range` bounded: a range longer than the step bound could never be iterated within it, and
 * building it alone (3 000 000 boxed integers) costs what the bound is there to prevent.
 */
function globals(bounds: RenderBounds): Record<string, unknown> {
  const range = (start: number, stop?: number, step = 1) => {
    const [from, to] = stop === undefined ? [0, start] : [start, stop];
    if (step === 0) throw new Error('range() step must not be zero');
    const length = Math.max(0, Math.ceil((to - from) / step));
    if (length > bounds.steps)
      throw new TemplateBoundError(
        `range() of ${length} numbers, more than the ${bounds.steps} steps a rendering may take`,
      );
    return Array.from({ length }, (_, i) => from + i * step);
  };
  return {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (message: string) => {
      throw new Error(message);
    },
    range,
    strftime_now: (format: string) => STRFTIME.render({ format }),
  };
}

/** What the bound uses of the library's Interpreter (its runtime.d.ts does not resolve under nodenext). */
interface JinjaValue {
  readonly type: string;
  readonly value: unknown;
}
type Evaluate = (statement: unknown, environment: Environment) => JinjaValue;
const JinjaInterpreter = Interpreter as unknown as new (env: Environment) => {
  evaluate(statement: unknown, environment: Environment): JinjaValue;
  run(program: Template['parsed']): JinjaValue;
};

/** The library's interpreter, counting steps, timing itself and measuring the strings it makes. */
class BoundedInterpreter extends JinjaInterpreter {
  private steps = 0;
  private readonly deadline: number;

  constructor(
    env: Environment,
    private readonly bounds: RenderBounds,
  ) {
    super(env);
    this.deadline = performance.now() + bounds.seconds * 1000;
  }

  override evaluate(...args: Parameters<Evaluate>): JinjaValue {
    const { steps, chars, seconds } = this.bounds;
    if (++this.steps > steps) throw new TemplateBoundError(`more than ${steps} evaluation steps (a loop too long?)`);
    if ((this.steps & 1023) === 0 && performance.now() > this.deadline)
      throw new TemplateBoundError(`more than ${seconds} s (${this.steps} evaluation steps)`);
    const value = super.evaluate(...args);
    if (value.type === 'StringValue' && (value.value as string).length > chars)
      throw new TemplateBoundError(`a string of ${(value.value as string).length} characters, more than ${chars}`);
    return value;
  }
}

/**
 * Renders `template` as Template.render does, within `bounds`: past any of them it throws a
 * {@link TemplateBoundError}. The interpreter is synchronous, so the bounds are checked as it goes
 * (every step counts; the clock every 1024 steps) rather than by a timer that could not interrupt it.
 */
export function renderBounded(template: Template, items: Record<string, unknown>, bounds: RenderBounds): string {
  const env = new Environment();
  for (const [key, value] of Object.entries({ ...globals(bounds), ...items })) env.set(key, value);
  const out = new BoundedInterpreter(env, bounds).run(template.parsed);
  return out.value as string;
}
