// `talos-mac/schema`: the JSON contracts of every --json (doctor, setup, the guest and kernel commands).
export * from './doctor/report-schema.js';
export * from './setup/report-schema.js';
export * from './guests/report-schema.js';
export * from './guests/set-report-schema.js';
export * from './launch/status-schema.js';
export * from './kernel/report-schema.js';
