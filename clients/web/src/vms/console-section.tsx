import { type ReactNode, useState } from 'react';
import type { CombinedError } from 'urql';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';

/** Opened is what asking for a console's ticket gave: its path, or why there is none. */
export interface Opened {
  readonly path: string | null;
  readonly error?: CombinedError | undefined;
  readonly userErrors?: readonly ShownError[] | undefined;
}

/**
 * ConsoleSection is a console's place on a VM's page: a button that asks for a single-use
 * ticket, the console on its socket while it is open, and, once it ends, why.
 */
export function ConsoleSection({
  id,
  title,
  button,
  open,
  render,
}: {
  id: string;
  title: string;
  button: string;
  open: () => Promise<Opened>;
  render: (path: string, onEnd: (why: string) => void) => ReactNode;
}) {
  const [opening, setOpening] = useState(false);
  const [opened, setOpened] = useState<Opened | null>(null);
  const [ending, setEnding] = useState<string | null>(null);
  const start = async () => {
    setEnding(null);
    setOpening(true);
    try {
      setOpened(await open());
    } finally {
      setOpening(false);
    }
  };
  const path = opened?.path ?? null;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {!path && (
        <button type="button" disabled={opening} onClick={start}>
          {button}
        </button>
      )}
      {ending && <p role="status">{ending}</p>}
      <ErrorList error={opened?.error} userErrors={opened?.userErrors} />
      {path &&
        render(path, (why) => {
          setOpened(null);
          setEnding(why);
        })}
    </section>
  );
}
