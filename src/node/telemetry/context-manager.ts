import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * An OpenTelemetry context manager on Node's AsyncLocalStorage: the active span follows `await`s, so the activity
 * span that Temporal's interceptor starts is the parent of what runs inside it and is visible to our own activity
 * interceptor. (OpenTelemetry's own `context-async-hooks` package does the same; it is not a dependency here.)
 */
export class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  /** @returns the context of the current async flow, else the root context */
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  /**
   * Runs `fn` with `context` active.
   * @param context - the context to make active
   * @param fn - the function
   * @param thisArg - its `this`
   * @param args - its arguments
   * @returns what `fn` returns
   */
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(context, () => fn.apply(thisArg, args));
  }

  /**
   * Binds a function to a context (event emitters are left as they are).
   * @param context - the context
   * @param target - a function, or anything else (returned unchanged)
   * @returns the bound function, or `target`
   */
  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown =>
      this.with(context, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }

  /** @returns this manager */
  enable(): this {
    return this;
  }

  /** Forgets the current context. @returns this manager */
  disable(): this {
    this.#storage.disable();
    return this;
  }
}
