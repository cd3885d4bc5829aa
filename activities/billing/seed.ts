import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Faker, base, en } from '@faker-js/faker';
import Database from 'better-sqlite3';
import { ConfigError } from '../../src/shared/errors';

/** Options of {@link generateBillingDb}. */
export interface GenerateBillingDbOptions {
  /** Number of customers, at least 1. Default 60. */
  customers?: number;
  /** Number of invoices, at least 1. Default 400. */
  invoices?: number;
  /** Faker seed; the same seed gives the same rows. Default 42. */
  seed?: number;
}

/** What {@link generateBillingDb} wrote: row counts per table. */
export interface GeneratedBillingDb {
  /** Absolute path of the new file. */
  path: string;
  /** Rows in `Employee` (always 8). */
  employees: number;
  /** Rows in `Customer`. */
  customers: number;
  /** Rows in `Track`. */
  tracks: number;
  /** Rows in `Invoice`. */
  invoices: number;
  /** Rows in `InvoiceLine`. */
  invoiceLines: number;
}

/**
 * Customer 1, fixed whatever the seed so tests and demos can rely on it. Same person as Chinook's customer 1, so
 * `find_customers {query: 'gonçalves'}` finds them in both the generated and the real database.
 */
export const FIXTURE_CUSTOMER = {
  customerId: 1,
  firstName: 'Luís',
  lastName: 'Gonçalves',
  company: 'Embraer - Empresa Brasileira de Aeronáutica S.A.',
  address: 'Av. Brigadeiro Faria Lima, 2170',
  country: 'Brazil',
  phone: '+55 (12) 3923-5555',
  email: 'luisg@embraer.com.br',
} as const;

/**
 * Invoice 1, fixed whatever the seed: customer 1, 2021-01-01, three lines totalling $9.92.
 * Lines are `[trackId, unitPriceCents, quantity]`.
 */
export const FIXTURE_INVOICE = {
  invoiceId: 1,
  customerId: 1,
  date: '2021-01-01 00:00:00',
  lines: [
    [1, 99, 1],
    [2, 199, 2],
    [3, 99, 5],
  ],
  totalCents: 992,
} as const;

/**
 * Invoice 2, fixed whatever the seed: customer 1's cancelled bulk order, 2021-01-01, one line of 50 × track 4 at
 * $1.29, totalling $64.50, so a refund of $50 or more (the example policy's finance rule) is possible. Lines are
 * `[trackId, unitPriceCents, quantity]`. Present when the database has at least two invoices.
 */
export const FIXTURE_LARGE_INVOICE = {
  invoiceId: 2,
  customerId: 1,
  date: '2021-01-01 00:00:00',
  lines: [[4, 129, 50]],
  totalCents: 6450,
} as const;

const TRACKS = 200;
const [LARGE_TRACK_ID, LARGE_UNIT_CENTS] = FIXTURE_LARGE_INVOICE.lines[0];

// Chinook's DDL for the tables the toolkit uses; Track is cut down to the columns InvoiceLine needs.
const CHINOOK_DDL = `
CREATE TABLE [Employee] (
  [EmployeeId] INTEGER NOT NULL, [LastName] NVARCHAR(20) NOT NULL, [FirstName] NVARCHAR(20) NOT NULL,
  [Title] NVARCHAR(30), [ReportsTo] INTEGER, [BirthDate] DATETIME, [HireDate] DATETIME, [Address] NVARCHAR(70),
  [City] NVARCHAR(40), [State] NVARCHAR(40), [Country] NVARCHAR(40), [PostalCode] NVARCHAR(10), [Phone] NVARCHAR(24),
  [Fax] NVARCHAR(24), [Email] NVARCHAR(60),
  CONSTRAINT [PK_Employee] PRIMARY KEY ([EmployeeId]),
  FOREIGN KEY ([ReportsTo]) REFERENCES [Employee] ([EmployeeId]) ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [Customer] (
  [CustomerId] INTEGER NOT NULL, [FirstName] NVARCHAR(40) NOT NULL, [LastName] NVARCHAR(20) NOT NULL,
  [Company] NVARCHAR(80), [Address] NVARCHAR(70), [City] NVARCHAR(40), [State] NVARCHAR(40), [Country] NVARCHAR(40),
  [PostalCode] NVARCHAR(10), [Phone] NVARCHAR(24), [Fax] NVARCHAR(24), [Email] NVARCHAR(60) NOT NULL,
  [SupportRepId] INTEGER,
  CONSTRAINT [PK_Customer] PRIMARY KEY ([CustomerId]),
  FOREIGN KEY ([SupportRepId]) REFERENCES [Employee] ([EmployeeId]) ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [Track] (
  [TrackId] INTEGER NOT NULL, [Name] NVARCHAR(200) NOT NULL, [UnitPrice] NUMERIC(10,2) NOT NULL,
  CONSTRAINT [PK_Track] PRIMARY KEY ([TrackId])
);
CREATE TABLE [Invoice] (
  [InvoiceId] INTEGER NOT NULL, [CustomerId] INTEGER NOT NULL, [InvoiceDate] DATETIME NOT NULL,
  [BillingAddress] NVARCHAR(70), [BillingCity] NVARCHAR(40), [BillingState] NVARCHAR(40),
  [BillingCountry] NVARCHAR(40), [BillingPostalCode] NVARCHAR(10), [Total] NUMERIC(10,2) NOT NULL,
  CONSTRAINT [PK_Invoice] PRIMARY KEY ([InvoiceId]),
  FOREIGN KEY ([CustomerId]) REFERENCES [Customer] ([CustomerId]) ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE TABLE [InvoiceLine] (
  [InvoiceLineId] INTEGER NOT NULL, [InvoiceId] INTEGER NOT NULL, [TrackId] INTEGER NOT NULL,
  [UnitPrice] NUMERIC(10,2) NOT NULL, [Quantity] INTEGER NOT NULL,
  CONSTRAINT [PK_InvoiceLine] PRIMARY KEY ([InvoiceLineId]),
  FOREIGN KEY ([InvoiceId]) REFERENCES [Invoice] ([InvoiceId]) ON DELETE NO ACTION ON UPDATE NO ACTION,
  FOREIGN KEY ([TrackId]) REFERENCES [Track] ([TrackId]) ON DELETE NO ACTION ON UPDATE NO ACTION
);
CREATE INDEX [IFK_CustomerSupportRepId] ON [Customer] ([SupportRepId]);
CREATE INDEX [IFK_EmployeeReportsTo] ON [Employee] ([ReportsTo]);
CREATE INDEX [IFK_InvoiceCustomerId] ON [Invoice] ([CustomerId]);
CREATE INDEX [IFK_InvoiceLineInvoiceId] ON [InvoiceLine] ([InvoiceId]);
CREATE INDEX [IFK_InvoiceLineTrackId] ON [InvoiceLine] ([TrackId]);
`;

// Chinook's org chart: [title, reportsTo].
const STAFF: readonly (readonly [string, number | null])[] = [
  ['General Manager', null],
  ['Sales Manager', 1],
  ['Sales Support Agent', 2],
  ['Sales Support Agent', 2],
  ['Sales Support Agent', 2],
  ['IT Manager', 1],
  ['IT Staff', 6],
  ['IT Staff', 6],
];
const SUPPORT_REPS = [3, 4, 5];

/**
 * Creates a new SQLite file in the Chinook schema (Employee, Customer, Track, Invoice, InvoiceLine) filled with
 * deterministic `@faker-js/faker` data: 8 employees, `customers` customers, 200 tracks at $0.99 or $1.99 (track 4 at
 * $1.29), `invoices`
 * invoices of 1–6 lines each, every `Invoice.Total` equal to the sum of its lines. Customer 1 and invoices 1 and 2 are
 * fixed ({@link FIXTURE_CUSTOMER}, {@link FIXTURE_INVOICE}, {@link FIXTURE_LARGE_INVOICE}). The same options always
 * give the same table contents.
 *
 * The file is built under a temporary name next to `path` and linked into place, so `path` never names a
 * half-written file and an existing file is never replaced.
 *
 * @param path - where to create the file; its directory is created if needed
 * @param options - sizes and seed
 * @returns the absolute path and row counts
 * @throws ConfigError when `path` already exists or an option is not a positive integer
 */
export function generateBillingDb(path: string, options: GenerateBillingDbOptions = {}): GeneratedBillingDb {
  const { customers = 60, invoices = 400, seed = 42 } = options;
  for (const [name, value] of Object.entries({ customers, invoices })) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ConfigError(`${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`seed must be an integer, got ${seed}`);
  const target = resolve(path);
  if (existsSync(target)) throw new ConfigError(`Refusing to overwrite an existing file: ${target}`);

  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}-${randomUUID()}.tmp`;
  try {
    const db = new Database(tmp);
    let counts: Omit<GeneratedBillingDb, 'path'>;
    try {
      db.pragma('foreign_keys = ON');
      db.exec(CHINOOK_DDL);
      counts = db.transaction(() => fill(db, customers, invoices, seed))();
    } finally {
      db.close();
    }
    publish(tmp, target);
    return { path: target, ...counts };
  } finally {
    rmSync(tmp, { force: true });
  }
}

function publish(tmp: string, target: string): void {
  try {
    linkSync(tmp, target); // fails with EEXIST instead of clobbering a file another process just published
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ConfigError(`Refusing to overwrite an existing file: ${target}`, { cause: err });
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    renameSync(tmp, target); // file systems without hard links
  }
}

function fill(
  db: Database.Database,
  customers: number,
  invoices: number,
  seed: number,
): Omit<GeneratedBillingDb, 'path'> {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(seed);
  faker.setDefaultRefDate(new Date('2026-01-01T00:00:00Z'));
  const day = (from: string, to: string): string =>
    `${faker.date.between({ from, to }).toISOString().slice(0, 10)} 00:00:00`;

  const insertEmployee = db.prepare(
    'INSERT INTO Employee (EmployeeId, LastName, FirstName, Title, ReportsTo, BirthDate, HireDate, Address, City, ' +
      'State, Country, PostalCode, Phone, Fax, Email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  STAFF.forEach(([title, reportsTo], i) => {
    const firstName = fit(faker.person.firstName(), 20);
    const lastName = fit(faker.person.lastName(), 20);
    insertEmployee.run(
      i + 1,
      lastName,
      firstName,
      title,
      reportsTo,
      day('1950-01-01', '1995-12-31'),
      day('2015-01-01', '2020-12-31'),
      fit(faker.location.streetAddress(), 70),
      fit(faker.location.city(), 40),
      faker.location.state({ abbreviated: true }),
      'Canada',
      fit(faker.location.zipCode(), 10),
      faker.phone.number({ style: 'international' }),
      faker.phone.number({ style: 'international' }),
      fit(faker.internet.email({ firstName, lastName, provider: 'chinookcorp.com' }).toLowerCase(), 60),
    );
  });

  const insertCustomer = db.prepare(
    'INSERT INTO Customer (CustomerId, FirstName, LastName, Company, Address, City, State, Country, PostalCode, ' +
      'Phone, Fax, Email, SupportRepId) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const f = FIXTURE_CUSTOMER;
  insertCustomer.run(
    1,
    f.firstName,
    f.lastName,
    f.company,
    f.address,
    'São José dos Campos',
    'SP',
    f.country,
    '12227-000',
    f.phone,
    '+55 (12) 3923-5566',
    f.email,
    3,
  );
  for (let id = 2; id <= customers; id++) {
    const firstName = fit(faker.person.firstName(), 40);
    const lastName = fit(faker.person.lastName(), 20);
    insertCustomer.run(
      id,
      firstName,
      lastName,
      faker.datatype.boolean({ probability: 0.3 }) ? fit(faker.company.name(), 80) : null,
      fit(faker.location.streetAddress(), 70),
      fit(faker.location.city(), 40),
      faker.location.state({ abbreviated: true }),
      fit(faker.location.country(), 40),
      fit(faker.location.zipCode(), 10),
      faker.phone.number({ style: 'international' }),
      null,
      fit(faker.internet.email({ firstName, lastName }).toLowerCase(), 60),
      faker.helpers.arrayElement(SUPPORT_REPS),
    );
  }

  const insertTrack = db.prepare('INSERT INTO Track (TrackId, Name, UnitPrice) VALUES (?, ?, ?)');
  const trackCents: number[] = [];
  for (let id = 1; id <= TRACKS; id++) {
    // Tracks 1–3 carry invoice 1's fixed prices, track 4 invoice 2's. Track 4 still draws (and drops) a random price,
    // so the random data after it is what it was before invoice 2 was fixed.
    const random = id <= 3 ? 99 : faker.datatype.boolean(0.1) ? 199 : 99;
    const fixed = id <= 3 ? FIXTURE_INVOICE.lines[id - 1]?.[1] : id === LARGE_TRACK_ID ? LARGE_UNIT_CENTS : undefined;
    const cents = fixed ?? random;
    trackCents.push(cents);
    insertTrack.run(id, fit(faker.music.songName(), 200), cents / 100);
  }

  type Draft = { customerId: number; date: string; lines: (readonly [number, number, number])[] };
  const drafts: Draft[] = [{ customerId: 1, date: FIXTURE_INVOICE.date, lines: [...FIXTURE_INVOICE.lines] }];
  if (invoices >= 2) {
    const f2 = FIXTURE_LARGE_INVOICE;
    drafts.push({ customerId: f2.customerId, date: f2.date, lines: [...f2.lines] });
  }
  const later: Draft[] = [];
  for (let n = drafts.length + 1; n <= invoices; n++) {
    const lines = Array.from({ length: faker.number.int({ min: 1, max: 6 }) }, () => {
      const trackId = faker.number.int({ min: 1, max: TRACKS });
      const quantity = faker.helpers.weightedArrayElement([
        { weight: 8, value: 1 },
        { weight: 2, value: 2 },
      ]);
      return [trackId, trackCents[trackId - 1] ?? 99, quantity] as const;
    });
    later.push({
      customerId: faker.number.int({ min: 1, max: customers }),
      date: day('2021-01-02', '2025-12-31'),
      lines,
    });
  }
  // Invoice ids follow the date, as in Chinook; the sort is stable, so ties keep generation order.
  drafts.push(...later.sort((a, b) => a.date.localeCompare(b.date)));

  const customerAddress = db.prepare<
    [number],
    { Address: string; City: string; State: string; Country: string; PostalCode: string }
  >('SELECT Address, City, State, Country, PostalCode FROM Customer WHERE CustomerId = ?');
  const insertInvoice = db.prepare(
    'INSERT INTO Invoice (InvoiceId, CustomerId, InvoiceDate, BillingAddress, BillingCity, BillingState, ' +
      'BillingCountry, BillingPostalCode, Total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertLine = db.prepare(
    'INSERT INTO InvoiceLine (InvoiceLineId, InvoiceId, TrackId, UnitPrice, Quantity) VALUES (?, ?, ?, ?, ?)',
  );
  let lineId = 0;
  drafts.forEach((draft, i) => {
    const a = customerAddress.get(draft.customerId) ?? null;
    const totalCents = draft.lines.reduce((sum, [, cents, qty]) => sum + cents * qty, 0);
    insertInvoice.run(
      i + 1,
      draft.customerId,
      draft.date,
      a?.Address ?? null,
      a?.City ?? null,
      a?.State ?? null,
      a?.Country ?? null,
      a?.PostalCode ?? null,
      totalCents / 100,
    );
    for (const [trackId, cents, qty] of draft.lines) insertLine.run(++lineId, i + 1, trackId, cents / 100, qty);
  });

  return { employees: STAFF.length, customers, tracks: TRACKS, invoices: drafts.length, invoiceLines: lineId };
}

function fit(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max).trimEnd();
}
