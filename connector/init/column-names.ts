/**
 * Reading intent from column names: `started_at`, `StartDateTime`, `properties.hs_meeting_start_time` and
 * `startTime` are all "a start time". Names are compared in a normal form (the last path segment, lower
 * case, letters and digits only) and split into words for prefix groups (`account_name` → account + name,
 * `OwnerId` → owner + id).
 */

/** `properties.hs_meeting_start_time` → `hsmeetingstarttime`. */
export function normalName(path: string): string {
  return lastSegment(path).toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The last key of a column path: `properties.hs_timestamp` → `hs_timestamp`, `meta["a.b"]` → `a.b`. */
export function lastSegment(path: string): string {
  if (path.endsWith('"]')) {
    const open = path.lastIndexOf('["');
    if (open >= 0) {
      try {
        return JSON.parse(path.slice(open + 1, -1)) as string;
      } catch {
        // not the quoted form after all: fall through
      }
    }
  }
  const dot = path.lastIndexOf('.');
  return dot < 0 ? path : path.slice(dot + 1);
}

/** `account_name` → [account, name]; `StartDateTime` → [start, date, time]; `rep2Email` → [rep2, email]. */
export function nameWords(path: string): string[] {
  return lastSegment(path)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** The first candidate (in the list's order of preference) among the paths, by normal name. */
export function firstNamed<T extends string>(paths: readonly T[], names: readonly string[]): T | undefined {
  const byName = new Map<string, T>();
  for (const p of paths) if (!byName.has(normalName(p))) byName.set(normalName(p), p);
  for (const n of names) {
    const hit = byName.get(n);
    if (hit) return hit;
  }
  return undefined;
}

// Preference lists: earlier names win. Vendor names (HubSpot `hs_*`, Salesforce) sit beside the generic ones.
export const START_NAMES = [
  'startedat', 'starttime', 'startsat', 'startat', 'startdatetime', 'scheduledfor', 'scheduledat', 'scheduledstart',
  'scheduledstarttime', 'hsmeetingstarttime', 'callstartedat', 'callstart', 'callstarttime', 'meetingstart',
  'meetingstarttime', 'appointmentstart', 'appointmentat', 'appointmenttime', 'begintime', 'beginsat', 'occurredat',
  'activitydatetime', 'hstimestamp', 'eventtime', 'eventdate', 'datetime', 'timestamp', 'start', 'startdate', 'date',
];
export const END_NAMES = [
  'endedat', 'endtime', 'endsat', 'endat', 'enddatetime', 'scheduledend', 'scheduledendtime', 'hsmeetingendtime',
  'callendedat', 'callend', 'callendtime', 'meetingend', 'meetingendtime', 'appointmentend', 'finishedat',
  'completedat', 'end', 'enddate',
];
export const CREATED_NAMES = [
  'createdat', 'createdate', 'createddate', 'createdon', 'createdtime', 'createtime', 'created', 'insertedat',
  'hscreatedate', 'hsobjectcreatedate',
];
export const UPDATED_NAMES = [
  'updatedat', 'lastmodifieddate', 'modifiedat', 'updatedon', 'modifiedon', 'updatedtime', 'updatetime', 'lastupdated',
  'lastmodified', 'hslastmodifieddate', 'systemmodstamp', 'updated', 'modified',
];
export const DELETED_NAMES = ['sdcdeletedat', 'deletedat', 'archivedat', 'removedat', 'deletedon', 'deleteddate'];
export const CLOSED_NAMES = ['closedat', 'closedate', 'closeddate', 'closedon', 'wonat', 'closetime'];

/** Duration columns by name, with the unit their name says (bare `duration` is taken as seconds, noted as a guess). */
export const DURATION_NAMES: readonly [string, 'milliseconds' | 'seconds' | 'minutes' | 'hours', boolean][] = [
  ['durationms', 'milliseconds', true], ['durationmillis', 'milliseconds', true], ['durationmilliseconds', 'milliseconds', true],
  ['hscallduration', 'milliseconds', true], ['hsmeetingduration', 'milliseconds', true],
  ['durationseconds', 'seconds', true], ['durationsecs', 'seconds', true], ['durationsec', 'seconds', true],
  ['durationinseconds', 'seconds', true], ['talktimeseconds', 'seconds', true], ['callseconds', 'seconds', true],
  ['durationminutes', 'minutes', true], ['durationmins', 'minutes', true], ['durationmin', 'minutes', true],
  ['durationinminutes', 'minutes', true], ['minutes', 'minutes', true], ['lengthminutes', 'minutes', true],
  ['durationhours', 'hours', true], ['durationinhours', 'hours', true], ['hours', 'hours', true],
  ['seconds', 'seconds', true], ['duration', 'seconds', false], ['callduration', 'seconds', false], ['length', 'seconds', false],
];

export const SUBJECT_NAMES = [
  'subject', 'title', 'hsmeetingtitle', 'hscalltitle', 'meetingtitle', 'calltitle', 'eventsubject', 'topic', 'headline',
  'hsemailsubject', 'summary', 'name',
];
export const CONTENT_NAMES = [
  'notes', 'note', 'body', 'content', 'description', 'hsmeetingbody', 'hscallbody', 'hsnotebody', 'hsemailtext',
  'hsbodypreview', 'details', 'comments', 'comment', 'transcript', 'summary', 'text', 'message',
];
export const DIRECTION_NAMES = ['direction', 'calldirection', 'hscalldirection', 'dir', 'inout', 'callway'];
export const ACTIVITY_NAMES = [
  'activitytype', 'engagementtype', 'kind', 'type', 'calltype', 'meetingtype', 'eventtype', 'appointmenttype',
  'hsactivitytype', 'hsengagementtype', 'category', 'subtype', 'channel', 'medium',
];
export const ZONE_NAMES = ['timezone', 'tz', 'timezonename', 'tzname', 'ianatimezone', 'zone', 'olsontimezone', 'hstimezone'];

/** Words that start a group of columns describing one nested Siro object. */
export const GROUP_WORDS: Record<string, 'account' | 'contact' | 'user' | 'opportunity'> = {
  account: 'account', customer: 'account', company: 'account', client: 'account', organization: 'account',
  organisation: 'account', org: 'account', household: 'account',
  contact: 'contact', who: 'contact', prospect: 'contact', person: 'contact', lead: 'contact',
  rep: 'user', owner: 'user', user: 'user', agent: 'user', salesperson: 'user', seller: 'user', host: 'user',
  organizer: 'user', organiser: 'user', employee: 'user', assignee: 'user', advisor: 'user', consultant: 'user',
  opportunity: 'opportunity', opp: 'opportunity', deal: 'opportunity',
};

/** What a column is within its group, by the words after the group word. */
export type Role = 'id' | 'ids' | 'name' | 'firstName' | 'lastName' | 'email' | 'phone' | 'street' | 'city' | 'state' | 'zip' | 'country' | 'amount' | 'status' | 'closed';

const ROLES: Record<string, Role> = {
  id: 'id', externalid: 'id', key: 'id', uuid: 'id', number: 'id', no: 'id', ids: 'ids',
  name: 'name', fullname: 'name', displayname: 'name', '': 'name',
  firstname: 'firstName', givenname: 'firstName', lastname: 'lastName', surname: 'lastName', familyname: 'lastName',
  email: 'email', emailaddress: 'email', mail: 'email',
  phone: 'phone', phonenumber: 'phone', mobile: 'phone', mobilephone: 'phone', tel: 'phone', telephone: 'phone', cell: 'phone',
  street: 'street', address: 'street', address1: 'street', addressline1: 'street', streetaddress: 'street', line1: 'street',
  city: 'city', town: 'city', state: 'state', region: 'state', province: 'state', statecode: 'state',
  zip: 'zip', zipcode: 'zip', postalcode: 'zip', postcode: 'zip', country: 'country', countrycode: 'country',
  amount: 'amount', value: 'amount', total: 'amount', stage: 'status', status: 'status', disposition: 'status',
  closedat: 'closed', closedate: 'closed', closeddate: 'closed',
};

/** A column's group and role: `account_name` → account/name, `OwnerId` → user/id, `street` → (none)/street. */
export function groupRole(path: string): { group?: 'account' | 'contact' | 'user' | 'opportunity'; role?: Role } {
  const words = nameWords(path);
  for (let i = 0; i < words.length; i++) {
    const group = GROUP_WORDS[words[i]!];
    if (!group) continue;
    const rest = words.slice(i + 1).join('');
    const role = ROLES[rest];
    return role ? { group, role } : {};
  }
  return { role: ROLES[words.join('')] };
}
