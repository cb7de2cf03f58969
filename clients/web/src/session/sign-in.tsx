import { type FormEvent, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList } from '../layout/error-list.tsx';

const SESSION_CREATE = graphql(`mutation SessionCreate($input: SessionCreateInput!) {
  sessionCreate(input: $input) { user { id } userErrors { code field message } } }`);

/** SignIn asks for an email and password; the session is the cookie the answer sets. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [result, signIn] = useMutation(SESSION_CREATE);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await signIn({ input: { email, password } });
    if (r.data?.sessionCreate.user) onSignedIn();
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Kumo</h1>
        <label>
          Email
          <input
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorList error={result.error} userErrors={result.data?.sessionCreate.userErrors} />
        <button type="submit" disabled={result.fetching}>
          Sign in
        </button>
      </form>
    </main>
  );
}
