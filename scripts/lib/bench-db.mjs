// The bench phases that need PostgreSQL make databases of their own with the testkit's
// createTestDatabase, which connects to TEST_DATABASE_URL (else 127.0.0.1:5432).

/** Without TEST_DATABASE_URL, a given DATABASE_URL's server is the one the bench databases go to. */
export function testDatabaseFromDatabaseUrl() {
  if (process.env.TEST_DATABASE_URL || !process.env.DATABASE_URL) return;
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = '/postgres';
  process.env.TEST_DATABASE_URL = url.toString();
}
