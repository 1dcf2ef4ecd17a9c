#!/usr/bin/env node
// Validates rendered Kubernetes manifests (multi-document YAML) offline against the JSON schemas
// shipped by the kubernetes-models npm packages.
//
//   node scripts/validate-manifests.mjs [--no-schema apiVersion/Kind]... [FILE|-]...
//
// Reads each FILE (or stdin when none is given, or for "-"). Every object is looked up by
// apiVersion and kind in the packages below, constructed as its model and validated; an object
// of a kind no package knows is an error, never a pass. `--no-schema policy.linkerd.io/v1beta3/Server`
// names a type that has no schema here: its objects are accepted only after their metadata is
// validated against ObjectMeta, and each is reported as not validated.
//
// Also checked, outside the schemas:
// - every ConfigMap value under a key ending in .json parses as JSON;
// - a Deployment container with a preStop sleep and CRM_METRICS_DRAIN_DELAY_SECONDS /
//   CRM_METRICS_SHUTDOWN_GRACE_SECONDS fits its shutdown (sleep + drain + grace) inside
//   terminationGracePeriodSeconds.
//
// Exit status: 0 every object valid, 1 some object invalid or unknown, 2 unreadable input or bad
// usage. The packages come from the node_modules directory named by CRM_DEPLOY_NODE_MODULES, else
// .ci/.tools/deploy-node/node_modules of this repository (scripts/check-deploy installs them).

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nodeModules = resolve(
  process.env.CRM_DEPLOY_NODE_MODULES ?? join(repo, ".ci/.tools/deploy-node/node_modules"),
);

// Which package holds the models of an API group, and the export path of a group inside it.
const K8S = "kubernetes-models";
const ISTIO = "@kubernetes-models/istio";
const GROUPS = new Map([
  ["", { pkg: K8S, path: "" }],
  ...[
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
  ].map((group) => [group, { pkg: K8S, path: group }]),
  ...[
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
  ].map((group) => [group, { pkg: ISTIO, path: group }]),
]);

// The packages are ESM with "exports" maps; resolve a specifier inside the tools directory (not
// next to this script) by the same rules Node applies to import: exact subpath, else a "*"
// pattern, taking the first of the conditions "import", "node", "default" at each level.
const CONDITIONS = new Set(["import", "node", "default"]);

function exportTarget(value) {
  if (typeof value === "string" || value === null) return value;
  if (Array.isArray(value)) return value.map(exportTarget).find((t) => t) ?? null;
  for (const [condition, nested] of Object.entries(value)) {
    if (CONDITIONS.has(condition)) {
      const target = exportTarget(nested);
      if (target) return target;
    }
  }
  return null;
}

class NotExported extends Error {}

function resolveSpecifier(specifier) {
  const parts = specifier.split("/");
  const name = parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
  const subpath = "." + specifier.slice(name.length);
  const dir = join(nodeModules, name);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  let exports = manifest.exports;
  if (exports === undefined) {
    return join(dir, subpath === "." ? (manifest.main ?? "index.js") : subpath);
  }
  if (typeof exports === "string" || !Object.keys(exports).some((k) => k.startsWith("."))) {
    exports = { ".": exports };
  }
  let target = null;
  if (Object.hasOwn(exports, subpath)) {
    target = exportTarget(exports[subpath]);
  } else {
    // The longest matching prefix wins, as in Node.
    const patterns = Object.entries(exports)
      .filter(([key]) => key.includes("*"))
      .sort(([a], [b]) => b.indexOf("*") - a.indexOf("*"));
    for (const [key, value] of patterns) {
      const star = key.indexOf("*");
      const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
      if (subpath.length > key.length - 1 && subpath.startsWith(prefix) && subpath.endsWith(suffix)) {
        const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
        target = exportTarget(value)?.replaceAll("*", matched) ?? null;
        break;
      }
    }
  }
  if (!target) throw new NotExported(`${name} does not export ${subpath}`);
  return join(dir, target);
}

async function importFrom(specifier) {
  return import(pathToFileURL(resolveSpecifier(specifier)).href);
}

class Unknown extends Error {}

const modelCache = new Map();

// The model class of apiVersion/kind, or throws Unknown saying why there is none.
async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const home = GROUPS.get(group);
  if (!home) {
    throw new Unknown(`no schema package covers API group "${group}"`);
  }
  if (!/^v\d+((alpha|beta)\d+)?$/.test(version) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    throw new Unknown(`"${apiVersion}" "${kind}" is not a well-formed apiVersion and kind`);
  }
  const specifier = [home.pkg, home.path, version, kind].filter(Boolean).join("/");
  let mod;
  try {
    mod = await importFrom(specifier);
  } catch (err) {
    if (err instanceof NotExported || err?.code === "ERR_MODULE_NOT_FOUND") {
      throw new Unknown(`${home.pkg} has no ${kind} in ${apiVersion}`);
    }
    throw err;
  }
  const model = mod[kind];
  // The export must be the top-level type itself (not, say, a nested type of the same name).
  if (typeof model !== "function" || model.apiVersion !== apiVersion || model.kind !== kind) {
    throw new Unknown(`${home.pkg} has no top-level ${kind} in ${apiVersion}`);
  }
  modelCache.set(key, model);
  return model;
}

let objectMeta;
async function validateMetadata(metadata) {
  objectMeta ??= (await importFrom("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta"))
    .ObjectMeta;
  new objectMeta(metadata).validate();
}

function usage(message) {
  console.error(`validate-manifests: ${message}`);
  console.error("usage: validate-manifests.mjs [--no-schema apiVersion/Kind]... [FILE|-]...");
  process.exit(2);
}

const args = process.argv.slice(2);
const noSchema = new Set();
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--no-schema") {
    const type = args[++i];
    if (!type || !/^[^/]+(\/[^/]+)?\/[A-Z][A-Za-z0-9]*$/.test(type)) {
      usage("--no-schema takes apiVersion/Kind, e.g. policy.linkerd.io/v1beta3/Server");
    }
    noSchema.add(type);
  } else if (args[i].startsWith("--")) {
    usage(`unknown option ${args[i]}`);
  } else {
    inputs.push(args[i]);
  }
}
if (inputs.length === 0) inputs.push("-");

let YAML;
try {
  const mod = await importFrom("yaml");
  YAML = mod.parseAllDocuments ? mod : mod.default;
  for (const pkg of [K8S, ISTIO]) resolveSpecifier(pkg);
} catch (err) {
  console.error(`validate-manifests: cannot load the schema packages from ${nodeModules}: ${err.message}`);
  console.error("run scripts/check-deploy once to install them");
  process.exit(2);
}

function describe(obj, source, index) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  const name = obj?.metadata?.name ?? "<no name>";
  return `${source} document ${index + 1}: ${obj?.apiVersion ?? "<no apiVersion>"} ${obj?.kind ?? "<no kind>"} ${ns}${name}`;
}

// Checks beyond the schemas; returns a list of problems.
function extraChecks(obj) {
  const problems = [];
  if (obj.apiVersion === "v1" && obj.kind === "ConfigMap") {
    for (const [key, value] of Object.entries(obj.data ?? {})) {
      if (!key.endsWith(".json")) continue;
      try {
        JSON.parse(value);
      } catch (err) {
        problems.push(`data.${key} is not valid JSON: ${err.message}`);
      }
    }
  }
  if (obj.apiVersion === "apps/v1" && obj.kind === "Deployment") {
    const pod = obj.spec?.template?.spec ?? {};
    const budget = pod.terminationGracePeriodSeconds ?? 30;
    for (const c of pod.containers ?? []) {
      const sleep = c.lifecycle?.preStop?.sleep?.seconds;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      const drain = env.CRM_METRICS_DRAIN_DELAY_SECONDS;
      const grace = env.CRM_METRICS_SHUTDOWN_GRACE_SECONDS;
      if (sleep === undefined || drain === undefined || grace === undefined) continue;
      const total = Number(sleep) + Number(drain) + Number(grace);
      if (!Number.isFinite(total)) {
        problems.push(`container ${c.name}: the drain and grace settings are not numbers`);
      } else if (total >= budget) {
        problems.push(
          `container ${c.name}: preStop ${sleep} s + drain ${drain} s + grace ${grace} s = ${total} s ` +
            `does not fit in terminationGracePeriodSeconds ${budget}`,
        );
      }
    }
  }
  return problems;
}

let failures = 0;
let validated = 0;
const unvalidated = [];

for (const input of inputs) {
  const source = input === "-" ? "<stdin>" : input;
  let text;
  try {
    text = readFileSync(input === "-" ? 0 : input, "utf8");
  } catch (err) {
    console.error(`validate-manifests: cannot read ${source}: ${err.message}`);
    process.exit(2);
  }
  // YAML 1.1, as Kubernetes reads manifests: an unquoted yes, no, on or off is a boolean there.
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true, version: "1.1" });
  if (!Array.isArray(docs)) {
    // An empty stream parses to a single empty document, so this is not expected; be safe.
    console.error(`FAIL ${source}: not a YAML stream`);
    failures++;
    continue;
  }
  let count = 0;
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      console.error(`FAIL ${source} document ${index + 1}: YAML error: ${doc.errors[0].message}`);
      failures++;
      count++;
      continue;
    }
    const obj = doc.toJS({ maxAliasCount: 100 });
    if (obj === null || obj === undefined) continue; // an empty document ("---" at the end)
    count++;
    const what = describe(obj, source, index);
    if (typeof obj !== "object" || Array.isArray(obj)) {
      console.error(`FAIL ${what}: not a Kubernetes object (a ${Array.isArray(obj) ? "list" : typeof obj})`);
      failures++;
      continue;
    }
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      console.error(`FAIL ${what}: apiVersion and kind must be strings`);
      failures++;
      continue;
    }
    if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
      console.error(`FAIL ${what}: metadata.name is missing`);
      failures++;
      continue;
    }
    const type = `${obj.apiVersion}/${obj.kind}`;
    try {
      if (noSchema.has(type)) {
        await validateMetadata(obj.metadata);
        unvalidated.push(what);
      } else {
        const Model = await modelFor(obj.apiVersion, obj.kind);
        new Model(obj).validate();
        validated++;
      }
    } catch (err) {
      if (err instanceof Unknown) {
        console.error(`FAIL ${what}: unknown kind: ${err.message}`);
      } else if (Array.isArray(err?.errors)) {
        // ajv's ValidationError, thrown by .validate() with the schema errors.
        console.error(`FAIL ${what}: ${err.message}`);
      } else {
        // Not a verdict on the object: say so, and do not pass for a rejection either.
        console.error(`validate-manifests: internal error at ${what}: ${err?.stack ?? err}`);
        process.exit(2);
      }
      failures++;
      continue;
    }
    for (const problem of extraChecks(obj)) {
      console.error(`FAIL ${what}: ${problem}`);
      failures++;
    }
  }
  if (count === 0) {
    console.error(`FAIL ${source}: no objects`);
    failures++;
  }
}

for (const what of unvalidated) {
  console.log(`NOT SCHEMA-VALIDATED (metadata only, no schema available): ${what}`);
}
if (failures > 0) {
  console.error(`validate-manifests: ${failures} problem(s)`);
  process.exit(1);
}
console.log(
  `validate-manifests: ${validated} object(s) valid against their schemas` +
    (unvalidated.length ? `, ${unvalidated.length} checked for metadata only` : ""),
);
