// The worker's type check reads @switchboard/knowledge from source: its declaration of an untyped dependency comes along.
/// <reference path="../../../packages/knowledge/src/vendor.d.ts" />
