// Prepared answers ("snabbsvar") in a live chat (issue 20, being written).
"use strict";
