export { DoctorReportSchema, CheckReportSchema, type DoctorReport, type CheckReport } from './doctor/report-schema.js';
export { SetupReportSchema, type SetupReport } from './setup/report-schema.js';
export type { Host, CommandResult, PathInfo, ReadResult, DirResult } from './host/host.js';
export type { Step, StepResult, StepState, CheckStatus } from './steps/step.js';
export { SetReportSchema, type SetReport } from './guests/set-report-schema.js';
