/** Route paths of the control calls (the controller's routes; also matched raw when Express refuses a call). */
export const CONTROL_ROUTES = {
  reload: '/api/v1/nodes/:node/reload',
  qualify: '/api/v1/nodes/:node/endpoints/:name/qualify',
} as const;
