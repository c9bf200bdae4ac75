// Alerts: a sound and a desktop notification for a new acute case or a relative asking for a person (issue 20, being written).
"use strict";
