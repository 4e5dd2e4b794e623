/** The built-in integration (created by the first migration) that holds flows created without one. */
export const STANDALONE_INTEGRATION_ID = '00000000-0000-4000-8000-000000000001';
export const STANDALONE_INTEGRATION_NAME = 'Standalone flows';
