/**
 * A polling loop's idle wait, which a finished job or a stop ends early. A wake-up that arrives while the
 * loop is busy (mid-fetch) is kept, so the next wait returns at once instead of sleeping through it.
 */
export class IdleWait {
  private woken = false;
  private wake?: () => void;

  /** Waits `ms`, or less when `wakeUp()` is called. */
  async idle(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    this.woken = false;
  }

  wakeUp(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }
}
