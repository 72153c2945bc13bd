// Module resolution hook for support/express4.mjs.
export function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier === "express" ? "express4" : specifier, context);
}
