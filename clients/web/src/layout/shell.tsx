import type { ReactNode } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { Link, usePath } from '../routing/router.tsx';
import { useViewer } from '../session/viewer.tsx';

const SESSION_DELETE = graphql(`mutation SessionDelete {
  sessionDelete { deletedSessionId userErrors { message } } }`);

interface Section {
  readonly href: string;
  readonly label: string;
  readonly adminOnly?: boolean;
}

const SECTIONS: readonly Section[] = [
  { href: '/vms', label: 'VMs' },
  { href: '/images', label: 'Images' },
  { href: '/usage', label: 'My usage' },
  { href: '/hosts', label: 'Hosts', adminOnly: true },
  { href: '/users', label: 'Users', adminOnly: true },
  { href: '/audit', label: 'Audit log', adminOnly: true },
];

/** Shell is the frame of every signed-in page: the sections, who is signed in, sign out. */
export function Shell({ children, onSignedOut }: { children: ReactNode; onSignedOut: () => void }) {
  const viewer = useViewer();
  const path = usePath();
  const [, signOut] = useMutation(SESSION_DELETE);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="shell">
        <span className="brand">Kumo</span>
        <nav aria-label="Sections">
          {SECTIONS.filter((s) => !s.adminOnly || viewer.isAdmin).map((s) => (
            <Link
              key={s.href}
              href={s.href}
              aria-current={path.startsWith(s.href) ? 'page' : undefined}
            >
              {s.label}
            </Link>
          ))}
        </nav>
        <span className="who">{viewer.email}</span>
        <button
          type="button"
          onClick={async () => {
            await signOut({});
            onSignedOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
