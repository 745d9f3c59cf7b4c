import type { AorView, EndpointView } from '../state/registrations/registration.views';

/** Which configuration shape explains an `aor_not_found`. */
export type AorNotFoundCause =
  /** pbxpulse has not seen the endpoint's configuration (no resync yet, or not a PJSIP endpoint it lists). */
  | 'endpoint_unknown'
  /** The endpoint has no `aors=` at all. */
  | 'no_aors'
  /** `aors=` names a section that does not exist as `type=aor`. */
  | 'aor_missing'
  /** The AORs exist, but none is named as the SIP user (the seed-000 breakage: `aors=1002-aor`). */
  | 'aor_misnamed'
  /** An AOR named as the endpoint exists and is listed: the device asked for another AOR (its To user). */
  | 'to_user_mismatch';

export interface AorExplanation {
  cause: AorNotFoundCause;
  message: string;
  remedy: string;
  configuredAors: string[];
  /** Of the configured AORs and the AORs named as the SIP user, those that exist as `type=aor`. */
  existingAors: string[];
  authUsernames: string[];
}

/**
 * Why the registrar answered 404 for an authenticated REGISTER of `name`. The security event does not
 * name the AOR the device asked for (only the SIP message has the To header), so this reasons from the
 * endpoint's configuration: the registrar accepts a To user only if it is listed in the endpoint's
 * `aors=` AND exists as a `type=aor` object (res_pjsip_registrar.c `find_registrar_aor`).
 *
 * `aor(name)` looks an AOR up by name on the node.
 */
export function explainAorNotFound(
  name: string,
  endpoint: EndpointView | undefined,
  aor: (aorName: string) => AorView | undefined,
): AorExplanation {
  const configuredAors = endpoint ? [...endpoint.aors] : [];
  const authUsernames = endpoint ? [...endpoint.authUsernames] : [];
  // The SIP user a device normally registers as: the endpoint name or its auth username.
  const users = unique([name, ...authUsernames]);
  const existingAors = unique([...configuredAors, ...users]).filter((a) => aor(a) !== undefined);
  const base = { configuredAors, existingAors, authUsernames };
  const prefix = `REGISTER for ${name} authenticated, but`;
  const reload = 'then reload PJSIP (pjsip reload).';
  const got404 = `REGISTER for ${name} authenticated, then the registrar answered 404:`;

  if (!endpoint) {
    return {
      ...base,
      cause: 'endpoint_unknown',
      message:
        `${prefix} the registrar found no AOR for it (404); pbxpulse has not seen endpoint ${name}'s ` +
        `configuration yet, so it cannot tell which AOR is missing`,
      remedy:
        `Check with "pjsip show endpoint ${name}" which AORs it lists. The AOR section must be named ` +
        `exactly as the SIP user (an AOR may share its name with the endpoint) and be listed in aors=:\n` +
        `[${name}]\ntype=endpoint\naors=${name}\n...\n\n${aorSection(name, undefined)}\n${reload}`,
    };
  }

  if (configuredAors.length === 0) {
    return {
      ...base,
      cause: 'no_aors',
      message: `${prefix} endpoint ${name} has no aors= configured, so there is no AOR to register to`,
      remedy: `Add aors=${name} to [${name}] type=endpoint and an AOR section named like the user:\n${aorSection(name, undefined)}\n${reload}`,
    };
  }

  const missing = configuredAors.filter((a) => aor(a) === undefined);
  const missingUser = missing.find((a) => users.includes(a));
  if (missingUser !== undefined) {
    return {
      ...base,
      cause: 'aor_missing',
      message:
        `${got404} endpoint ${name} lists aors=${configuredAors.join(',')} but there is no ` +
        `[${missingUser}] type=aor section`,
      remedy: `Add the AOR section the endpoint lists:\n${aorSection(missingUser, undefined)}\n${reload}`,
    };
  }

  const namedAsUser = configuredAors.find((a) => users.includes(a));
  if (namedAsUser === undefined && missing.length === configuredAors.length) {
    const sections = missing.map((m) => `[${m}]`).join(', ');
    return {
      ...base,
      cause: 'aor_missing',
      message:
        `${got404} endpoint ${name} lists aors=${configuredAors.join(',')} but there is no ${sections} ` +
        `type=aor section, and no AOR named ${name} (the SIP user) is listed`,
      remedy:
        `Add an AOR section named exactly as the SIP user and list it on the endpoint:\n` +
        `[${name}]\ntype=endpoint\naors=${name}\n...\n\n${aorSection(name, undefined)}\n${reload}`,
    };
  }

  if (namedAsUser === undefined) {
    const existing = configuredAors.filter((a) => aor(a) !== undefined);
    const template = aor(existing[0]);
    const missingNote =
      missing.length > 0 ? ` (${missing.map((m) => `[${m}]`).join(', ')} does not exist as type=aor)` : '';
    const userAorExists = aor(name) !== undefined;
    return {
      ...base,
      cause: 'aor_misnamed',
      message:
        `${prefix} endpoint ${name} lists aors=${configuredAors.join(',')}${missingNote} and ` +
        (userAorExists ? `not the existing AOR named ${name}` : `no AOR named ${name}`) +
        `: name the AOR section exactly as the SIP user (the To-header user), or list it in aors`,
      remedy: userAorExists
        ? `List the AOR named like the user on the endpoint: aors=${unique([name, ...configuredAors]).join(',')} ` +
          `on [${name}] type=endpoint; ${reload}`
        : `Rename the AOR section [${existing[0]}] to [${name}] (an AOR may share its name with the endpoint) ` +
          `and set aors=${name} on [${name}] type=endpoint:\n` +
          `[${name}]\ntype=endpoint\naors=${name}\n...\n\n${aorSection(name, template)}\n${reload} ` +
          `Alternatively keep [${existing[0]}] and make the device register with To-header user ${existing[0]}.`,
    };
  }

  return {
    ...base,
    cause: 'to_user_mismatch',
    message:
      `${prefix} the AOR it asked for is not in endpoint ${name}'s aors=${configuredAors.join(',')}: ` +
      `the device registers with a To-header user other than ${users.join(' or ')}`,
    remedy:
      `Set the device's SIP user (the To-header user of its REGISTER) to ${namedAsUser}, or add an AOR ` +
      `named as the user the device sends and list it in aors= of [${name}]; ${reload}`,
  };
}

function aorSection(name: string, template: AorView | undefined): string {
  const lines = [`[${name}]`, 'type=aor', `max_contacts=${template ? template.maxContacts : 1}`];
  if (template?.removeExisting) lines.push('remove_existing=yes');
  if (template && template.qualifyFrequency > 0) lines.push(`qualify_frequency=${template.qualifyFrequency}`);
  return lines.join('\n');
}

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}
