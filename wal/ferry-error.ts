// The one error hierarchy of Ferry, defined at the lowest layer so every layer can throw it.
// Runs on any thread; errors cross threads as plain data (toWire/fromWire), since structured
// clone keeps neither the class nor its extra fields.

const BRAND = Symbol.for('ferry.error');

/** The plain-data form of a FerryError, safe to post between threads. */
export interface FerryErrorWire {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
  readonly details?: Record<string, unknown>;
}

/** Options shared by every FerryError constructor. */
export interface FerryErrorOptions {
  readonly cause?: unknown;
  /** Machine-readable context (a path, an offset) that explains the failure. */
  readonly details?: Record<string, unknown>;
}

/**
 * Base class of every error Ferry throws. `code` is stable across versions and is what programs
 * should branch on; `retriable` says whether the same call may succeed if tried again.
 */
export class FerryError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, retriable: boolean, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = retriable;
    this.details = options.details;
    this.name = new.target.name;
  }

  /** True for any FerryError, also one made by another copy of this module (another realm). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== FerryError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: true })[BRAND] === true;
  }

  /** The plain-data form, to cross a thread or process boundary. */
  toWire(): FerryErrorWire {
    return this.details === undefined
      ? { code: this.code, message: this.message, retriable: this.retriable }
      : { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }

  /** Rebuilds the typed error from its wire form; unknown codes become a plain FerryError. */
  static fromWire(wire: FerryErrorWire): FerryError {
    const error = new FerryError(wire.code, wire.message, wire.retriable, wire.details ? { details: wire.details } : {});
    const Known = registry.get(wire.code);
    if (Known) {
      // The subclass constructors take domain arguments; rebuild by prototype, keeping the fields.
      Object.setPrototypeOf(error, Known.prototype);
      error.name = Known.name;
    }
    return error;
  }
}
Object.defineProperty(FerryError.prototype, BRAND, { value: true });

const registry = new Map<string, typeof FerryError>();

/** Registers a subclass so `fromWire` can rebuild it by its code. */
export function registerErrorCode(code: string, cls: typeof FerryError): void {
  registry.set(code, cls);
}
