// Stored functions load op: a registered scalar function executed through StoredFunctionEngine.
//
// One engine per run over the dataset's CSDatabase (functions.ts's newEngine: esbuild
// transpiler, vm sandbox, the batch ops' limits), with functions.ts's scalar function
// registered (transpiled) at prepare. The sandbox gives functions a mock database (every
// query returns nothing at these commits), so a stored function cannot query the data:
// the scalar one, which computes from its parameters, is the realistic call.
import { definition, executionContext, kinds, newEngine } from "./functions";
import type { Doc } from "./library";
import type { LoadEnv, LoadOp, LoadStep, Timed, VirtualUser } from "./load_ops";
import { check } from "./ops";

const FUNCTION = "load-scalar";

/**
 * call_function: StoredFunctionEngine.executeFunction of the scalar function with the user's
 * random parameters; checked: its value, and that the engine audited the call as this user's
 * successful execution.
 */
export const functionsLoadOps: Record<string, LoadOp> = {
  call_function: {
    requires: ["functions", "database"],
    async prepare(env: LoadEnv): Promise<LoadStep> {
      const db = env.dataset.db;
      if (!db) throw new Error(`call_function needs a CSDatabase; dataset "${env.dataset.handle}" has none`);
      /** Successful executions the engine audited, per user id (a user's calls are sequential). */
      const audited = new Map<string, number>();
      const engine = await newEngine(env.library, db, async (entry: Doc) => {
        if (entry.action === "function_executed" && entry.result === "success") {
          const id = String(entry.userId);
          audited.set(id, (audited.get(id) ?? 0) + 1);
        }
      });
      await engine.registerFunction(definition(FUNCTION, kinds.scalar.code));
      const scalar = kinds.scalar;
      return {
        async run(user: VirtualUser, timed: Timed) {
          const userId = `user-${user.index}`;
          const params = scalar.params(user.rng);
          const ctx = executionContext(db, userId, `${userId}@csbench.invalid`, `${userId}-call`);
          const before = audited.get(userId) ?? 0;
          const result = await timed(() => engine.executeFunction(FUNCTION, params, ctx));
          const expected = { value: scalar.expected(params), audited: 1 };
          const actual = { value: scalar.summary(result?.data), audited: (audited.get(userId) ?? 0) - before };
          check(JSON.stringify(actual) === JSON.stringify(expected), "call_function", { user: user.index, params },
            expected, actual);
        },
        async close() {
          await engine.dispose?.();
        },
      };
    },
  },
};
