/** The package version, kept here so both the server and browser code can show it. */
export const VERSION = '0.1.0';
