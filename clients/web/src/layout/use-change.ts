import { useState } from 'react';
import type { ShownError } from './error-list.tsx';

/** Change is a request that changes something and answers what went wrong (nothing: []). */
export type Change = () => Promise<readonly ShownError[]>;

/** Changes are a component's changes: whether one is under way and what the last one said. */
export interface Changes {
  readonly busy: boolean;
  readonly problems: readonly ShownError[];
  run(change: Change): Promise<readonly ShownError[]>;
}

/**
 * useChange runs a component's changes one at a time and keeps only the last one's problems,
 * so an error shown is always about what was done last.
 */
export function useChange(): Changes {
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<readonly ShownError[]>([]);
  return {
    busy,
    problems,
    run: async (change) => {
      setBusy(true);
      try {
        const out = await change();
        setProblems(out);
        return out;
      } finally {
        setBusy(false);
      }
    },
  };
}
