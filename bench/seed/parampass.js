// SPDX-License-Identifier: Apache-2.0
// Experiment C action (ServerlessBench Testcase5): as the first step of a
// sequence it stamps its output; as the second it returns how long the
// payload took to get from one to the other.
function main(params) {
	if (params.retTime === undefined) {
		return { payload: params.payload, retTime: Date.now() };
	}
	return { comTime: Date.now() - params.retTime };
}
