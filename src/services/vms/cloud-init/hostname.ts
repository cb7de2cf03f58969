// Guest host names.

// An RFC 1123 label: letters, digits and '-', neither first nor last; checked before lower-casing
// so that no non-ASCII letter (the Kelvin sign lower-cases to 'k') slips through.
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * validateHostname checks that name is one RFC 1123 label (1 to 63 characters) and returns it
 * in lower case. Throws an Error whose message says what is wanted.
 */
export function validateHostname(name: string): string {
  if (!LABEL.test(name)) {
    throw new Error(
      `host name ${JSON.stringify(name)} must be 1 to 63 letters, digits and '-', not starting or ending with '-'`,
    );
  }
  return name.toLowerCase();
}
