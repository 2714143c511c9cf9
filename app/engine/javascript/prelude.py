"""The JavaScript that prepares a V8 context for BPMN scripts: lock it down, then install the harness.

`LOCKDOWN` runs once, as the first code of a new context, before any script:

1. It takes away what reaches outside V8's heap or runs later: the typed arrays, `ArrayBuffer`,
   `SharedArrayBuffer`, `DataView`, `Atomics`, `WebAssembly` (their memory is outside the heap limit),
   `FinalizationRegistry`, `WeakRef` and mini-racer's `setTimeout` (they run code after a script ended),
   the legacy `RegExp.$1`... statics (they would show a script the last match of the one before).
2. Code can no longer be made from strings: `eval`, `Function` and the generator and async function
   constructors throw, so no script runs code in the global scope.
3. Everything reachable from the global object, and the intrinsics reachable only through syntax (iterator,
   generator and async prototypes, the stack accessor of errors...), is frozen, the global object too. A few
   inherited properties (`toString`, `constructor`, an error's `message`...) become accessors, so that
   assigning them on an object of one's own still works once their prototypes are frozen.

After that nothing a script can reach outlives it: the next script, whoever's, sees the same pristine
context. `run` (installed as `__stagecoach_run__`) evaluates one script or expression in a scope of its own
(see `app.engine.javascript.runtime` for the rules it implements).
"""
import json


# What the harness puts before a script's source (runtime.py): `run` and `check` compile nothing else, so a
# script that reaches them (they are properties of the global object, which it can read) runs no code of
# its own through them that it could not run itself.
RUN_PREFIX = '"use strict";void 0;'  # strict: `var` and functions stay the script's own; void 0: its value so far
CHECK_PREFIX = '"use strict";throw __stagecoach_checked__;'  # nothing of a checked source runs

LOCKDOWN = r"""
(function (G) {
  "use strict";
  const { create, defineProperty, freeze, getOwnPropertyDescriptor, getPrototypeOf, isFrozen } = Object;
  const hasOwn = Object.hasOwn;
  const ownKeys = Reflect.ownKeys;
  const realEval = G.eval;
  const realFunction = G.Function;
  const parseJSON = JSON.parse;
  const toJSON = JSON.stringify;
  const isArray = Array.isArray;
  const ProxyCtor = Proxy;
  const StringCtor = String;
  const SetCtor = Set;
  const TypeErrorCtor = TypeError;
  const ReferenceErrorCtor = ReferenceError;

  // The sloppy-mode runner (`with` is not allowed in strict code); built before `Function` is tamed.
  const runner = realFunction("scope", "with (scope) { return eval(__stagecoach_source__); }");
  // `run` and `check` compile only the harness's sources (strict, or throwing first), one at a time: a
  // script that calls them (through the global object) gets neither sloppy code nor a second script.
  const RUN_PREFIX = @RUN_PREFIX@;
  const CHECK_PREFIX = @CHECK_PREFIX@;
  let busy = false;
  const enter = (source, prefix) => {
    if (busy) throw new TypeErrorCtor("a script cannot run or check another");
    if (typeof source !== "string" || !source.startsWith(prefix)) throw new TypeErrorCtor("not a harness source");
    busy = true;
  };

  // -- 1. capabilities a script must not have --------------------------------------------------
  const typed = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
                 "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"];
  const removed = [...typed, "ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "WebAssembly",
                   "FinalizationRegistry", "WeakRef", "console"];
  const hidden = [];  // reachable through syntax or instances only: frozen below all the same
  for (const name of removed) {
    if (hasOwn(G, name)) { hidden.push(G[name]); delete G[name]; }
  }
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) {  // `var` bindings: not deletable
    if (hasOwn(G, name)) G[name] = undefined;
  }
  // mini-racer's class binding: only global code (which scripts cannot run) reaches it; frozen all the same
  if (typeof __TimerManager !== "undefined") hidden.push(__TimerManager);
  for (const name of ["input", "$_", "lastMatch", "$&", "lastParen", "$+", "leftContext", "$`", "rightContext",
                      "$'", "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"]) {
    delete RegExp[name];
  }
  if (Array.fromAsync) delete Array.fromAsync;

  // -- 2. no code from strings -----------------------------------------------------------------
  function refuse() { throw new TypeErrorCtor("code cannot be made from strings in a script"); }
  function tame(exampleFunction, globalName) {
    const proto = getPrototypeOf(exampleFunction);
    const stub = function () { refuse(); };
    defineProperty(stub, "name", { value: globalName || proto.constructor.name });
    stub.prototype = proto;
    defineProperty(proto, "constructor", { value: stub, writable: false, enumerable: false, configurable: false });
    if (globalName) G[globalName] = stub;
  }
  tame(function () {}, "Function");
  tame(function* () {});
  tame(async function () {});
  tame(async function* () {});
  const evalStub = function () { refuse(); };
  defineProperty(evalStub, "name", { value: "eval" });
  G.eval = evalStub;

  // -- 3. harden -------------------------------------------------------------------------------
  function overridable(obj, name) {
    const desc = getOwnPropertyDescriptor(obj, name);
    if (!desc || !("value" in desc) || !desc.configurable) return;
    const value = desc.value;
    defineProperty(obj, name, {
      get() { return value; },
      set(v) {
        if (this === obj) throw new TypeErrorCtor("Cannot assign to read only property '" + StringCtor(name) + "'");
        defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: desc.enumerable, configurable: false,
    });
  }
  const errors = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError];
  if (typeof SuppressedError === "function") errors.push(SuppressedError);
  for (const name of ["toString", "valueOf", "constructor", "toLocaleString", "hasOwnProperty", "isPrototypeOf",
                      "propertyIsEnumerable"]) overridable(Object.prototype, name);
  for (const name of ["toString", "constructor"]) overridable(Function.prototype, name);
  for (const name of ["toString", "constructor"]) overridable(Array.prototype, name);
  for (const E of errors) {
    for (const name of ["name", "message", "constructor", "toString"]) overridable(E.prototype, name);
  }

  // -- the harness -----------------------------------------------------------------------------
  class StoreError extends Error {}
  const MAX_DEPTH = 256;

  // A script's value as JSON data: null, booleans, finite numbers, strings, arrays, objects (own enumerable
  // string keys, toJSON when there is one); undefined becomes null; anything else fails, naming where.
  function data(value, path, depth, active) {
    if (depth > MAX_DEPTH) throw new StoreError(path + " is nested too deeply to be stored");
    if (value !== null && typeof value === "object" && typeof value.toJSON === "function") value = value.toJSON();
    switch (typeof value) {
      case "undefined": return null;
      case "boolean": case "string": return value;
      case "number":
        if (value !== value || value === Infinity || value === -Infinity) {
          throw new StoreError(path + " is " + StringCtor(value) + ", which JSON cannot hold");
        }
        return value;
      case "bigint": throw new StoreError(path + " is a BigInt, which JSON cannot hold; convert it to a Number");
      case "symbol": throw new StoreError(path + " is a Symbol, which cannot be stored");
      case "function": throw new StoreError(path + " is a function, which cannot be stored");
    }
    if (value === null) return null;
    if (active.has(value)) throw new StoreError(path + " refers to itself (a cycle), which JSON cannot hold");
    active.add(value);
    let out;
    if (isArray(value)) {
      out = [];
      for (let i = 0; i < value.length; i++) out.push(data(value[i], path + "[" + i + "]", depth + 1, active));
    } else {
      out = create(null);
      for (const key of Object.keys(value)) out[key] = data(value[key], path + "." + key, depth + 1, active);
    }
    active.delete(value);
    return out;
  }

  function lineOf(error) {
    const stack = error !== null && typeof error === "object" ? error.stack : undefined;
    if (typeof stack !== "string") return null;
    const match = /script\.js:(\d+):\d+/.exec(stack);
    return match ? Number(match[1]) : null;
  }

  // What a script threw, as the incident says it (reading it runs the script's getters: they may throw too).
  function describe(error) {
    try {
      if (error instanceof StoreError) return { kind: "store", message: error.message, line: null };
      if (error !== null && typeof error === "object" && typeof error.name === "string" && "message" in error) {
        return { kind: "error", message: error.name + ": " + StringCtor(error.message), line: lineOf(error) };
      }
      const text = toJSON(error);
      return { kind: "error", message: "Uncaught " + (text === undefined ? typeof error : text), line: null };
    } catch (e) {
      return { kind: "error", message: "Uncaught " + typeof error, line: null };
    }
  }

  function run(source, input, meta) {
    enter(source, RUN_PREFIX);
    try {
      return runOne(source, input, meta);
    } finally {
      busy = false;
    }
  }

  function runOne(source, input, meta) {
    const store = create(null);
    const given = parseJSON(input);
    for (const key of Object.keys(given)) store[key] = given[key];
    const writable = meta.mode === "script";
    const typeofNames = new SetCtor(meta.typeofNames || []);
    let phase = 0;  // 0: the runner reads `eval` and the source; 1: the script runs; 2: it has ended
    const refuseWrite = () => {
      throw new TypeErrorCtor(meta.mode === "condition" ? "a condition cannot set variables"
                                                       : "an expression cannot set variables");
    };
    const checkName = (name) => {
      if (typeof name !== "string") throw new TypeErrorCtor("a variable name must be a string");
      return name;
    };
    const open = () => { if (phase === 2) throw new TypeErrorCtor("the script has ended"); };
    const variables = {
      getVariable(name) { open(); name = checkName(name); return hasOwn(store, name) ? store[name] : null; },
      setVariable(name, value) { open(); if (!writable) refuseWrite(); store[checkName(name)] = value; },
      hasVariable(name) { open(); return hasOwn(store, checkName(name)); },
      removeVariable(name) { open(); if (!writable) refuseWrite(); delete store[checkName(name)]; },
      getVariables() {
        open();
        const copy = {};
        for (const k of Object.keys(store)) {
          defineProperty(copy, k, { value: store[k], writable: true, enumerable: true, configurable: true });
        }
        return copy;
      },
      getVariableNames() { open(); return Object.keys(store); },
      hasVariables() { open(); return Object.keys(store).length > 0; },
    };
    const info = meta.info || {};
    const constant = (value) => freeze(() => (value === undefined ? null : value));
    for (const name of Object.keys(variables)) freeze(variables[name]);
    const execution = freeze({
      ...variables,
      getId: constant(info.activityInstanceId),
      getProcessInstanceId: constant(info.processInstanceId),
      getProcessBusinessKey: constant(info.businessKey),
      getBusinessKey: constant(info.businessKey),
      getCurrentActivityId: constant(info.activityId),
      getCurrentActivityName: constant(info.activityName),
      getActivityInstanceId: constant(info.activityInstanceId),
      getEventName: constant(info.eventName),
    });
    const specials = create(null);
    specials.execution = execution;
    if (meta.taskListener) {
      specials.task = freeze({
        ...variables,
        getId: constant(info.activityInstanceId),
        getName: constant(info.activityName),
        getTaskDefinitionKey: constant(info.activityId),
        getProcessInstanceId: constant(info.processInstanceId),
        getEventName: constant(info.eventName),
        getExecution: freeze(() => execution),
      });
    }
    const nothing = freeze(() => undefined);
    specials.print = nothing;
    specials.console = freeze({ log: nothing, info: nothing, warn: nothing, error: nothing, debug: nothing });
    const scope = new ProxyCtor(create(null), {
      has(target, key) {
        if (typeof key !== "string") return false;
        if (phase === 0) return key === "eval" || key === "__stagecoach_source__";
        if (phase === 2) return true;
        if (key in specials || hasOwn(store, key)) return true;
        if (key.startsWith("__stagecoach")) return true;
        return !(key in G);
      },
      get(target, key) {
        if (typeof key !== "string") return undefined;  // Symbol.unscopables: nothing is
        if (phase === 0) {
          if (key === "eval") return realEval;
          phase = 1;
          return source;
        }
        if (phase === 2) throw new TypeErrorCtor("the script has ended");
        if (key in specials) return specials[key];
        if (hasOwn(store, key)) return store[key];
        if (typeofNames.has(key)) return undefined;
        throw new ReferenceErrorCtor(key + " is not defined");
      },
      set(target, key, value) {
        if (phase !== 1) throw new TypeErrorCtor("the script has ended");
        if (key in specials) throw new TypeErrorCtor(key + " cannot be assigned");
        if (!writable) refuseWrite();
        store[key] = value;
        return true;
      },
      defineProperty() { throw new TypeErrorCtor("cannot define variables this way"); },
      deleteProperty() { throw new TypeErrorCtor("use execution.removeVariable to remove a variable"); },
    });
    try {
      const text = toJSON(result(runner(scope), store, meta));
      if (text.length <= meta.maxOutput) return text;
      const message = "the script's variables would take " + text.length + " characters as JSON";
      return toJSON({ ok: false, error: { kind: "size", message, line: null } });
    } catch (error) {
      return toJSON({ ok: false, error: describe(error) });
    } finally {
      phase = 2;  // anything of it that still runs later (a promise callback) finds the variables gone
    }
  }

  // What `run` answers: the variables the script leaves (script mode) and the value it asks for, as JSON data.
  function result(value, store, meta) {
    const out = { ok: true };
    if (meta.mode === "condition") {
      out.value = !!value;
    } else if (meta.mode === "expression") {
      out.value = data(value, "the value", 0, new SetCtor());
    } else {
      const vars = create(null);
      const skipped = [];
      for (const key of Object.keys(store)) {
        const v = store[key];
        if (typeof v === "function" || typeof v === "symbol") { skipped.push(key); continue; }  // a helper
        vars[key] = data(v, "variable " + key, 0, new SetCtor());
      }
      out.vars = vars;
      out.skipped = skipped;
      if (meta.wantValue && typeof value !== "function" && typeof value !== "symbol") {
        out.value = data(value, meta.result ? "the script's value (" + meta.result + ")" : "the script's value", 0,
                         new SetCtor());
      }
    }
    return out;
  }

  // A syntax check: `source` is compiled as `run` compiles it, and starts with
  // `"use strict";throw __stagecoach_checked__;`, so nothing of it runs. Whatever is thrown (that string,
  // or the SyntaxError with its line in V8's message) is left uncaught for the caller to read.
  function check(source) {
    enter(source, CHECK_PREFIX);
    try {
      checkOne(source);
    } finally {
      busy = false;
    }
  }

  function checkOne(source) {
    runner(new ProxyCtor(create(null), {
      has(target, key) {
        return key === "eval" || key === "__stagecoach_source__" || key === "__stagecoach_checked__";
      },
      get(target, key) {
        if (typeof key !== "string") return undefined;
        return key === "eval" ? realEval : key === "__stagecoach_checked__" ? "__stagecoach_compiled__" : source;
      },
    }));
  }

  defineProperty(G, "__stagecoach_run__", { value: run });
  defineProperty(G, "__stagecoach_check__", { value: check });

  // -- 3b. freeze everything reachable -----------------------------------------------------------
  function* gen() {}
  async function* agen() {}
  hidden.push(
    gen, async function () {}, agen, () => {}, gen(), agen(), (async function () {})(),
    [][Symbol.iterator](), ""[Symbol.iterator](), new Map().entries(), new Set().values(), "a".matchAll(/a/g),
    [].values().map((x) => x), Iterator.from({ next() { return { done: true }; } }),
    new Error("x"), (function () { return arguments; })(),
  );
  if (typeof Intl === "object" && Intl.Segmenter) {
    const segments = new Intl.Segmenter().segment("a");
    hidden.push(segments, segments[Symbol.iterator]());
  }
  const seen = new SetCtor();
  const queue = [G, ...hidden];
  while (queue.length) {
    const obj = queue.pop();
    if (obj === null || (typeof obj !== "object" && typeof obj !== "function") || seen.has(obj)) continue;
    seen.add(obj);
    freeze(obj);
    queue.push(getPrototypeOf(obj));
    for (const key of ownKeys(obj)) {
      const desc = getOwnPropertyDescriptor(obj, key);
      if (!desc) continue;
      if ("value" in desc) queue.push(desc.value); else queue.push(desc.get, desc.set);
    }
  }

  return isFrozen(G) && isFrozen(Object.prototype) && isFrozen(run);
})(globalThis);
""".replace("@RUN_PREFIX@", json.dumps(RUN_PREFIX)).replace("@CHECK_PREFIX@", json.dumps(CHECK_PREFIX))
