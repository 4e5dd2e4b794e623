export const VALIDATE_USAGE = 'junction validate FLOW';
export const RUN_USAGE =
  'junction run FLOW [--param name=value]... [--params-file FILE] [--connections FILE] [--json] [--page-size N]';

export const USAGE = `Usage:
  ${VALIDATE_USAGE}
      Checks a flow file against the flow model and the connectors' schemas.
  ${RUN_USAGE}
      Runs a flow here, in this process.
      --param name=value   a flow parameter (repeatable), coerced to its declared type
      --params-file FILE   parameters as a YAML or JSON map (--param wins)
      --connections FILE   named connections (default: connections.yaml next to the flow)
      --json               one JSON run event per line on stdout, nothing else
      --page-size N        records per page (default 1000)

Exit status: 0 completed, 1 failed, 2 invalid input, 130 cancelled (Ctrl-C).
`;
