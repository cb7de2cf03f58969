import type { CombinedError } from 'urql';

/** ShownError is a mutation's user error as the API gives it. */
export interface ShownError {
  readonly code: string;
  readonly field?: string | null;
  readonly message: string;
}

/**
 * ErrorList shows what went wrong with a request: the API's user errors (bad input, quota,
 * state) and transport or GraphQL errors, announced to screen readers as they appear.
 */
export function ErrorList({
  error,
  userErrors,
}: {
  error?: CombinedError | undefined;
  userErrors?: readonly ShownError[] | undefined;
}) {
  const messages = [
    ...(userErrors ?? []).map((u) => u.message),
    ...(error?.graphQLErrors.map((g) => g.message) ?? []),
    ...(error?.networkError
      ? [`The controller could not be reached: ${error.networkError.message}`]
      : []),
  ];
  if (messages.length === 0) return null;
  return (
    <div role="alert">
      <ul className="errors">
        {messages.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </div>
  );
}

/** problemsOf joins a mutation's user errors and its transport or GraphQL error in one list. */
export function problemsOf(
  userErrors: readonly ShownError[] | undefined,
  error: CombinedError | undefined,
): readonly ShownError[] {
  return [...(userErrors ?? []), ...(error ? [{ code: 'ERROR', message: error.message }] : [])];
}
