// The SQL page of the dataset site: DuckDB-WASM, shipped with the site, loads the package's
// Parquet files (checked against the SHA-256 the page states; read into Arrow by
// parquet-wasm, as DuckDB-WASM's own Parquet reader is an extension it would download) and
// runs the reader's SQL.
// Nothing is fetched from elsewhere (the page's Content-Security-Policy allows only the site
// itself), nothing is written as HTML (values go in as text), and at most `rowLimit` rows of a
// result are read, so a careless query cannot freeze the tab; Stop ends a long one.
import * as duckdb from "./vendor/duckdb-wasm/engine.mjs";

const { arrow } = duckdb;
const setup = JSON.parse(document.getElementById("sql-setup").textContent);
const $ = (id) => document.getElementById(id);
const ui = {
  status: $("sql-status"),
  form: $("sql-form"),
  example: $("sql-example"),
  editor: $("sql-editor"),
  run: $("sql-run"),
  stop: $("sql-stop"),
  csv: $("sql-csv"),
  note: $("sql-note"),
  error: $("sql-error"),
  result: $("sql-result"),
};
const CELL_CHARS = 160; // longer cells are cut in the table (whole in the CSV), as elsewhere

let engine = null; // {worker, db, conn} while started
let starting = null; // the promise of the engine being started
let files = null; // table name -> Parquet bytes, fetched and checked once
let parquet = null; // parquet-wasm, started once

function say(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = "status " + kind;
}

async function sha256(bytes) {
  if (!globalThis.crypto?.subtle) return null; // only in secure contexts (https, localhost)
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchFiles() {
  const out = new Map();
  let checked = true;
  for (const table of setup.tables) {
    const response = await fetch(table.file);
    if (!response.ok) throw new Error(`${table.file}: ${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const digest = await sha256(bytes);
    if (digest === null) checked = false;
    else if (digest !== table.sha256) {
      throw new Error(`${table.file}: its SHA-256 is not the one on this page (another build?)`);
    }
    out.set(table.name, bytes);
  }
  return { tables: out, checked };
}

async function start() {
  say("Starting the SQL engine…");
  files ??= await fetchFiles();
  const base = new URL("vendor/duckdb-wasm/", document.baseURI);
  parquet ??= await duckdb.initParquet({ module_or_path: new URL(setup.engine.parquet, base) });
  const worker = new Worker(new URL(setup.engine.worker, base));
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  try {
    await db.instantiate(new URL(setup.engine.wasm, base).href);
    await db.open({ path: ":memory:", query: { castBigIntToDouble: false } });
    const conn = await db.connect();
    // Extensions are never installed or loaded: they would come from elsewhere.
    await conn.query(
      "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false",
    );
    for (const [name, bytes] of files.tables) {
      const ipc = duckdb.readParquet(bytes).intoIPCStream();
      await conn.insertArrowFromIPCStream(ipc, { name, create: true });
    }
    await conn.query(setup.views);
    // Then, as in `newspack query`: no file, no URL, and no statement can change that.
    await conn.query("SET enable_external_access = false; SET lock_configuration = true");
    engine = { worker, db, conn };
  } catch (error) {
    worker.terminate();
    throw error;
  }
  const tables = setup.tables.length;
  const check = files.checked
    ? "their SHA-256 checked"
    : "not checked: this browser computes SHA-256 only for https or localhost pages";
  say(`Ready: ${tables} tables of version ${setup.version} loaded (${check}).`, "ready");
}

function ready() {
  starting ??= start().catch((error) => {
    starting = null;
    say(`The SQL engine could not start: ${message(error)}`, "failed");
    throw error;
  });
  return starting;
}

function message(error) {
  const text = String(error?.message ?? error).trim();
  try {
    // Some errors come from the worker as DuckDB's JSON: show its type and message.
    const { exception_type: type, exception_message: detail } = JSON.parse(text);
    if (detail) return `${type ? type + " Error: " : ""}${detail}`;
  } catch {
    // plain text
  }
  return text;
}

// --- values as text: the same text `newspack site` shows for a result -----------------------

function decimalText(value, scale) {
  if (typeof value === "bigint" || typeof value === "number") value = BigInt(value);
  else {
    const words = value; // Uint32Array, little-endian words of a two's complement integer
    let n = 0n;
    for (let i = words.length - 1; i >= 0; i--) n = (n << 32n) + BigInt(words[i]);
    const bits = BigInt(words.length * 32);
    if (n >= 1n << (bits - 1n)) n -= 1n << bits;
    value = n;
  }
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0");
    digits = digits.slice(0, -scale) + "." + digits.slice(-scale);
  }
  return (negative ? "-" : "") + digits;
}

function floatText(value) {
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return value.toFixed(1);
  return String(value);
}

function instant(value) {
  return new Date(typeof value === "bigint" ? Number(value) : Number(value));
}

function jsonText(value) {
  const plain = value?.toJSON ? value.toJSON() : value?.toArray ? [...value.toArray()] : value;
  return JSON.stringify(plain, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

function text(value, type) {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case arrow.Type.Bool:
      return value ? "true" : "false";
    case arrow.Type.Float:
      return floatText(value);
    case arrow.Type.Decimal:
      return decimalText(value, type.scale);
    case arrow.Type.Date:
      return instant(value).toISOString().slice(0, 10);
    case arrow.Type.Timestamp: {
      const iso = instant(value).toISOString(); // UTC, as the CSVs write times
      if (type.timezone) return iso.slice(0, 19) + "Z";
      return iso.endsWith(".000Z") ? iso.slice(0, 19) : iso.slice(0, 23);
    }
    case arrow.Type.Utf8:
    case arrow.Type.LargeUtf8:
      return value;
    case arrow.Type.Int:
      return String(value);
    default:
      return typeof value === "object" ? jsonText(value) : String(value);
  }
}

// --- running a statement -----------------------------------------------------------------

async function run(sql) {
  await ready();
  const { conn } = engine;
  const rows = [];
  let columns = [];
  let truncated = false;
  const started = performance.now();
  try {
    const reader = await conn.send(sql, true); // streamed: only the rows read are computed
    for await (const batch of reader) {
      const fields = batch.schema.fields;
      columns = fields.map((f) => f.name);
      const vectors = fields.map((_f, i) => batch.getChildAt(i));
      for (let r = 0; r < batch.numRows; r++) {
        if (rows.length === setup.rowLimit) {
          truncated = true;
          break;
        }
        rows.push(vectors.map((v, i) => text(v.get(r), fields[i].type)));
      }
      if (truncated) break;
      if (!columns.length) columns = reader.schema?.fields.map((f) => f.name) ?? [];
    }
    if (!columns.length && reader.schema) columns = reader.schema.fields.map((f) => f.name);
    if (truncated) await conn.cancelSent().catch(() => false);
  } catch (error) {
    return { error: message(error), columns: [], rows: [], truncated: false };
  }
  const seconds = (performance.now() - started) / 1000;
  return { error: null, columns, rows, truncated, seconds };
}

function csvText(columns, rows) {
  const field = (value) => {
    if (value === null) return "";
    return /[",\r\n]/.test(value) || value !== value.trim()
      ? '"' + value.replaceAll('"', '""') + '"'
      : value;
  };
  return [columns, ...rows].map((row) => row.map(field).join(",")).join("\n") + "\n";
}

function cell(value) {
  const td = document.createElement("td");
  if (value === null) {
    td.className = "null";
    td.textContent = "NULL";
  } else if (value.length > CELL_CHARS) {
    td.title = value;
    td.textContent = value.slice(0, CELL_CHARS - 1) + "…";
  } else td.textContent = value;
  return td;
}

function table(columns, rows) {
  const wrap = document.createElement("div");
  wrap.className = "scroll";
  const element = document.createElement("table");
  element.className = "data result";
  element.id = "sql-result-table";
  const head = element.createTHead().insertRow();
  for (const name of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.append(th);
  }
  const body = element.createTBody();
  for (const row of rows) body.insertRow().append(...row.map(cell));
  wrap.append(element);
  return wrap;
}

let csvUrl = null;

function show(outcome) {
  ui.result.replaceChildren();
  ui.error.hidden = true;
  ui.csv.hidden = true;
  if (csvUrl) URL.revokeObjectURL(csvUrl);
  csvUrl = null;
  if (outcome.error !== null) {
    ui.error.textContent = outcome.error;
    ui.error.hidden = false;
    ui.note.textContent = "The query failed:";
    return;
  }
  const { columns, rows, truncated } = outcome;
  const shown = rows.slice(0, setup.shownRows);
  let note = truncated
    ? `Stopped after ${rows.length} rows (the page's limit); add LIMIT or a WHERE clause.`
    : `${rows.length} row${rows.length === 1 ? "" : "s"} in ${outcome.seconds.toFixed(2)} s.`;
  if (shown.length < rows.length) note += ` The first ${shown.length} are shown; the CSV has all.`;
  ui.note.textContent = note;
  if (columns.length) ui.result.append(table(columns, shown));
  csvUrl = URL.createObjectURL(new Blob([csvText(columns, rows)], { type: "text/csv" }));
  ui.csv.href = csvUrl;
  ui.csv.hidden = false;
}

let cancel = null; // ends the wait for a statement that Stop ended

async function submit(event) {
  event.preventDefault();
  ui.run.disabled = true;
  ui.stop.disabled = false;
  ui.note.textContent = "Running…";
  const stopped = new Promise((resolve) => {
    cancel = () => resolve({ error: "Stopped: the engine was restarted." });
  });
  try {
    show(await Promise.race([run(ui.editor.value), stopped]));
  } catch (error) {
    show({ error: message(error) });
  } finally {
    ui.run.disabled = false;
    ui.stop.disabled = true;
  }
}

function stop() {
  // A statement cannot be interrupted from here reliably: end the engine, start a new one.
  if (engine) engine.worker.terminate();
  engine = null;
  starting = null;
  cancel?.();
  ui.stop.disabled = true;
  ready().catch(() => {});
}

if (location.protocol === "file:") {
  // Browsers start no WebAssembly worker for a page opened from a file: the status paragraph
  // already says how to serve the folder; keep it.
} else {
  ui.form.addEventListener("submit", submit);
  ui.stop.addEventListener("click", stop);
  ui.example.addEventListener("change", () => {
    ui.editor.value = setup.examples[Number(ui.example.value)].sql;
  });
  ready()
    .then(() => {
      ui.run.disabled = false;
    })
    .catch(() => {});
  // For the site's browser test, and for anyone scripting the page: the same `run` as Run.
  globalThis.newspackSQL = { ready, run, csvText };
}
