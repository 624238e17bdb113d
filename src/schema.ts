// `talos-mac/schema`: the JSON contracts of doctor --json and setup --json.
export * from './doctor/report-schema.js';
export * from './setup/report-schema.js';
export * from './launch/status-schema.js';
