// Must NOT compile (types.test.mjs expects tsc to reject every line marked
// below): the declarations are precise enough to catch these.
import { Tracer, StackKind } from 'actrace';

const tracer = new Tracer({ policy: 'panic' }); // error: not "throw" | "report"
tracer.task(42); // error: a name is a string
tracer.task('t').stack(StackKind.Names, 7); // error: fallback is a string
