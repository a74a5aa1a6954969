// The interfaces activities depend on (design §2 "Ports and adapters"). Each port's contract is written on it;
// test/contract/ runs one suite per port against the real thing (Azurite, PostgreSQL) and against any fake.

// --- secrets and connections ---

// --- PostgreSQL tools ---

// --- blob storage ---

// --- state stores (Table Storage) ---

// --- clock ---

/** The only source of "now" outside orchestrators (which use context.df.currentUtcDateTime). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
