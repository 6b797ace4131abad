// Validates an AsyncAPI document with the AsyncAPI initiative's own parser.
//
//   node tests/node/validate-asyncapi.mjs FILE
//
// Prints every diagnostic (errors and warnings) and exits 1 when the parser reports
// an error or returns no document, 0 otherwise. Install once with
// `npm ci --prefix tests/node`.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-asyncapi.mjs FILE');
  process.exit(2);
}
const text = await readFile(file, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text, { source: file });
const names = { 0: 'error', 1: 'warning', 2: 'info', 3: 'hint' };
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) errors += 1;
  const where = d.path && d.path.length ? d.path.join('.') : '(root)';
  console.log(`${names[d.severity] ?? d.severity}: ${d.code}: ${d.message} at ${where}`);
}
if (!document) {
  console.log('the parser returned no document');
  errors = Math.max(errors, 1);
}
if (document) {
  console.log(
    `parsed AsyncAPI ${document.version()}: ${document.channels().length} channels, ` +
      `${document.messages().length} messages, ${document.operations().length} operations`,
  );
}
console.log(`${errors} errors, ${diagnostics.length - errors} other diagnostics`);
process.exit(errors > 0 ? 1 : 0);
