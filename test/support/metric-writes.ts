/**
 * Counts the rows written to a database's metrics table from any connection, with a trigger
 * (INSERT OR REPLACE inserts again, so a row written twice counts twice): for tests that check a
 * path writes each point once.
 */
import Database from 'better-sqlite3';

export function countMetricWrites(dbPath: string): { count(): number; close(): void } {
  const db = new Database(dbPath);
  db.exec('CREATE TABLE metric_writes (n INTEGER); INSERT INTO metric_writes VALUES (0); CREATE TRIGGER count_metric_writes AFTER INSERT ON metrics BEGIN UPDATE metric_writes SET n = n + 1; END;');
  return {
    count: () => (db.prepare('SELECT n FROM metric_writes').get() as { n: number }).n,
    close: () => db.close(),
  };
}
