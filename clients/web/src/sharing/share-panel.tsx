import { type FormEvent, useState } from 'react';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';
import { useChange } from '../layout/use-change.ts';
import type { Role } from '../session/roles.ts';

/** Share is one user's role on a resource. */
export interface Share {
  readonly role: Role;
  readonly user: { readonly email: string };
}

/** ShareActions change who holds a role; each answers the API's user errors. */
export interface ShareActions {
  share(email: string, role: Role): Promise<readonly ShownError[]>;
  unshare(email: string): Promise<readonly ShownError[]>;
}

const ROLES: readonly Role[] = ['VIEWER', 'OPERATOR', 'OWNER'];

/**
 * SharePanel lists who holds which role on a resource and, for its owners, gives a role to
 * someone by email or takes it back.
 */
export function SharePanel({
  what,
  shares,
  actions,
}: {
  what: string;
  shares: readonly Share[];
  actions: ShareActions;
}) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('VIEWER');
  const { busy, problems, run } = useChange();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const out = await run(() => actions.share(email.trim(), role));
    if (out.length === 0) setEmail('');
  };
  return (
    <section aria-labelledby="shares-title">
      <h2 id="shares-title">Shared with</h2>
      <ul className="shares">
        {shares.map((s) => (
          <li key={s.user.email}>
            <span>
              {s.user.email}: {s.role}
            </span>
            {s.role !== 'OWNER' && (
              <button
                type="button"
                disabled={busy}
                aria-label={`Stop sharing ${what} with ${s.user.email}`}
                onClick={() => void run(() => actions.unshare(s.user.email))}
              >
                Stop sharing
              </button>
            )}
          </li>
        ))}
      </ul>
      <form className="inline-form" onSubmit={submit} aria-label={`Share ${what}`}>
        <label>
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Share
        </button>
      </form>
      <ErrorList userErrors={problems} />
    </section>
  );
}
