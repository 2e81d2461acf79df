// Rendered by `flask --app app bridge-manifest --out DIR`; do not edit by hand.
// The backend the bridge forwards to, and one onCreateFunction per solution of the
// manifest (the same ids as deployment.json). The logic is in Code.js.

const BRIDGE_CONFERENCE_URL = "https://addon.example.com/bridge/conference/{solution_id}";
const BRIDGE_NOTIFICATION_URL = "https://addon.example.com/bridge/notification";

function onCreate_web_conference(arg) {
  return createConference_("web-conference", arg);
}

function onCreate_recorded_web_conference(arg) {
  return createConference_("recorded-web-conference", arg);
}
