// A periodic async task that never overlaps itself and never keeps the process alive on its own.

export class Periodic {
  readonly #intervalMs: number;
  readonly #task: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;

  constructor(intervalMs: number, task: () => Promise<void>, onError: (error: unknown) => void) {
    this.#intervalMs = intervalMs;
    this.#task = task;
    this.#onError = onError;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Runs the task now (after a run in progress, if any); errors go to onError. */
  async runNow(): Promise<void> {
    await this.#running;
    await this.#run();
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#run().then(() => this.#schedule());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #run(): Promise<void> {
    const run = this.#task()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        if (this.#running === run) this.#running = null;
      });
    this.#running = run;
    return run;
  }
}
