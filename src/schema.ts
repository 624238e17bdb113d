// `talos-mac/schema`: the JSON contracts of doctor --json, setup --json and set --json.
export * from './doctor/report-schema.js';
export * from './setup/report-schema.js';
export * from './guests/set-report-schema.js';
