// `node --import` this to run an app on Express 4 (the `express4` npm alias) instead of the
// project's Express 5, unchanged: every import of "express" resolves to "express4".
import { register } from "node:module";

register("./express4-hooks.mjs", import.meta.url);
