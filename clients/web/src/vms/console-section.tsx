import { type ReactNode, useState } from 'react';
import { type CombinedError, useClient } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';

const OPEN = {
  serial: graphql(`mutation VmConsoleOpen($id: ID!) {
    vmConsoleOpen(input: { id: $id }) { console { path } userErrors { code field message } } }`),
  display: graphql(`mutation VmDisplayOpen($id: ID!) {
    vmDisplayOpen(input: { id: $id }) { console { path } userErrors { code field message } } }`),
};

interface Opened {
  readonly path: string | null;
  readonly error: CombinedError | undefined;
  readonly userErrors: readonly ShownError[] | undefined;
}

/**
 * ConsoleSection is a console's place on a VM's page: a button that asks for a single-use
 * ticket to the serial console or the display, the console on its socket while it is open,
 * and, once it ends, why.
 */
export function ConsoleSection({
  kind,
  vmId,
  title,
  button,
  render,
}: {
  kind: keyof typeof OPEN;
  vmId: string;
  title: string;
  button: string;
  render: (path: string, onEnd: (why: string) => void) => ReactNode;
}) {
  const client = useClient();
  const [opening, setOpening] = useState(false);
  const [opened, setOpened] = useState<Opened | null>(null);
  const [ending, setEnding] = useState<string | null>(null);
  const start = async () => {
    setEnding(null);
    setOpening(true);
    try {
      const variables = { id: vmId };
      const r =
        kind === 'serial'
          ? await client.mutation(OPEN.serial, variables).toPromise()
          : await client.mutation(OPEN.display, variables).toPromise();
      // Either payload: the one field of the mutation asked.
      const out = r.data && Object.values(r.data)[0];
      setOpened({ path: out?.console?.path ?? null, error: r.error, userErrors: out?.userErrors });
    } finally {
      setOpening(false);
    }
  };
  const path = opened?.path ?? null;
  const id = `${kind}-console-title`;
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
