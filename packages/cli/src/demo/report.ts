/**
 * How the demo prints its steps and keeps score.
 *
 * @module
 */

/** Prints steps and checks, and remembers whether every check held. */
export class DemoReport {
  #failures = 0;
  #step = 0;
  readonly #write: (text: string) => void;

  /** @param write - where lines go (standard output) */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** How many checks did not hold. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Starts a numbered step.
   *
   * @param title - what the step does
   */
  step(title: string): void {
    this.#step++;
    this.#write(`\n${this.#step}. ${title}\n`);
  }

  /**
   * Prints a fact (not a check).
   *
   * @param text - the fact
   */
  note(text: string): void {
    this.#write(`   ${text}\n`);
  }

  /**
   * Records a check: `ok` lines for what held, `FAILED` lines for what did not.
   *
   * @param held - whether it held
   * @param what - what was checked
   */
  check(held: boolean, what: string): void {
    if (!held) this.#failures++;
    this.#write(`   ${held ? 'ok' : 'FAILED'}  ${what}\n`);
  }
}
