import { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import {
  type Contexts,
  loadContexts,
  normalizeServer,
  type Selection,
  saveContexts,
  selectContext,
} from './contexts.ts';

/**
 * Session is the context the CLI talks to, and changes to it: signing in and out, switching
 * context. The REPL keeps one for its whole run, so `login` there signs in later commands.
 */
export class Session {
  readonly env: NodeJS.ProcessEnv;
  private contexts: Contexts;
  private current: Selection;

  private constructor(env: NodeJS.ProcessEnv, contexts: Contexts, current: Selection) {
    this.env = env;
    this.contexts = contexts;
    this.current = current;
  }

  /** open reads the configuration and selects the context that --context/--server ask for. */
  static async open(
    env: NodeJS.ProcessEnv,
    flags: { context?: string | undefined; server?: string | undefined },
  ): Promise<Session> {
    const contexts = await loadContexts(env);
    return new Session(env, contexts, selectContext(contexts, flags, env));
  }

  get selection(): Selection {
    return this.current;
  }

  get saved(): Contexts {
    return this.contexts;
  }

  /** api is the server signed in to; without a token it throws AUTH saying to log in. */
  api(): Api {
    if (!this.current.token)
      throw new CliError('AUTH', `not signed in to ${this.current.server}`, {
        hint: 'run `kumo login <email>` (or set KUMO_TOKEN)',
      });
    return new Api(this.current.server, this.current.token);
  }

  /** anonymous is the server without a session, to sign in with. */
  anonymous(server?: string): Api {
    return new Api(server ? normalizeServer(server) : this.current.server, null);
  }

  /** signedIn saves a new session as context `name` (the current one unless given) and uses it. */
  async signedIn(
    server: string,
    user: string,
    token: string,
    name = this.current.name,
  ): Promise<void> {
    this.contexts = {
      current: name,
      contexts: {
        ...this.contexts.contexts,
        [name]: { server: normalizeServer(server), token, user },
      },
    };
    await saveContexts(this.env, this.contexts);
    this.current = { name, server: normalizeServer(server), token };
  }

  /** signedOut forgets the current context's token. */
  async signedOut(): Promise<void> {
    const saved = this.contexts.contexts[this.current.name];
    if (saved) {
      this.contexts = {
        ...this.contexts,
        contexts: { ...this.contexts.contexts, [this.current.name]: { ...saved, token: null } },
      };
      await saveContexts(this.env, this.contexts);
    }
    this.current = { ...this.current, token: null };
  }

  /** use makes a saved context the current one. */
  async use(name: string): Promise<void> {
    if (!this.contexts.contexts[name])
      throw new CliError('NOT_FOUND', `no context named ${name}`, {
        hint: 'see `kumo context ls`',
      });
    this.contexts = { ...this.contexts, current: name };
    await saveContexts(this.env, this.contexts);
    this.current = selectContext(
      this.contexts,
      { context: name },
      { ...this.env, KUMO_CONTEXT: undefined },
    );
  }
}
