/**
 * Cleanup collects undo steps while a test builds things on the rig and runs them newest
 * first, so a failed test leaves no domain, volume or pool behind. Steps that fail because
 * the object is already gone are expected and ignored.
 */
export class Cleanup {
  private readonly steps: Array<() => Promise<unknown>> = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch(() => undefined);
    }
  }
}
