// Validates an AsyncAPI document with the official parser (@asyncapi/parser, its Spectral
// rules included): prints the diagnostics as JSON lines and exits 1 if any is an error.
//   node tests/contract/validate.mjs docs/integration/asyncapi.json
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs <asyncapi.json>');
  process.exit(2);
}
const text = await readFile(path, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text, { source: path });
const names = { 0: 'error', 1: 'warning', 2: 'information', 3: 'hint' };
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: names[d.severity] ?? d.severity, code: d.code,
                               message: d.message, path: d.path.join('/') }));
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
const messages = document ? document.allMessages().length : 0;
console.log(JSON.stringify({ document: Boolean(document), messages, errors: errors.length,
                             diagnostics: diagnostics.length }));
process.exit(document && errors.length === 0 ? 0 : 1);
