// `ferry/testing/fast-check`: the fast-check arbitrary of fault plans, `faultPlans(fc)`. An entry
// of its own because its types name fast-check's (an optional peer dependency): importing it needs
// fast-check installed, importing `ferry/testing` does not.
export { faultPlans } from './arbitrary.ts';
export type { FastCheckLike } from './arbitrary.ts';
export type { FaultPlanOptions, SimulationInput } from './plan.ts';
