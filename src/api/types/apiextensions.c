/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of apiextensions.k8s.io/v1: CustomResourceDefinition and the
 * OpenAPI v3 schema (JSONSchemaProps) it carries.  JSON only.  The
 * `items`, `additionalProperties`, `default`, `enum` and `example` values
 * are JSON of several shapes and stay untyped here; crd-schema.c reads
 * them.
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define X(name, fl, ...) TYPE_(name, PKG_APIEXT, fl, __VA_ARGS__)

X(ExternalDocumentation, 0, STR(0, "description"), STR(0, "url"));
X(ValidationRule, 0, STR(0, "rule"), STR(0, "message"),
  STR(0, "messageExpression"), STR(0, "reason"), STR(0, "fieldPath"),
  BOOLK(0, "optionalOldSelf"));
X(JSONSchemaProps, 0, STR(0, "id"), STR(0, "$schema"), STR(0, "$ref"),
  STR(0, "description"), STR(0, "type"), STR(0, "format"), STR(0, "title"),
  RAWJSON(0, "default"), DBL(0, "maximum"), BOOL(0, "exclusiveMaximum"),
  DBL(0, "minimum"), BOOL(0, "exclusiveMinimum"), I64K(0, "maxLength"),
  I64K(0, "minLength"), STR(0, "pattern"), I64K(0, "maxItems"),
  I64K(0, "minItems"), BOOL(0, "uniqueItems"), DBL(0, "multipleOf"),
  RAWJSON(0, "enum"), I64K(0, "maxProperties"), I64K(0, "minProperties"),
  RSTR(0, "required"), RAWJSON(0, "items"), RMSG(0, "allOf", JSONSchemaProps),
  RMSG(0, "oneOf", JSONSchemaProps), RMSG(0, "anyOf", JSONSchemaProps),
  MSG(0, "not", JSONSchemaProps), MAPMSG("properties", JSONSchemaProps),
  RAWJSON(0, "additionalProperties"),
  MAPMSG("patternProperties", JSONSchemaProps), RAWJSON(0, "dependencies"),
  RAWJSON(0, "additionalItems"), MAPMSG("definitions", JSONSchemaProps),
  MSG(0, "externalDocs", ExternalDocumentation), RAWJSON(0, "example"),
  BOOL(0, "nullable"), BOOLK(0, "x-kubernetes-preserve-unknown-fields"),
  BOOL(0, "x-kubernetes-embedded-resource"),
  BOOL(0, "x-kubernetes-int-or-string"),
  RSTR(0, "x-kubernetes-list-map-keys"), STRK(0, "x-kubernetes-list-type"),
  STRK(0, "x-kubernetes-map-type"),
  RMSGM(0, "x-kubernetes-validations", ValidationRule, "rule"));
X(CustomResourceValidation, 0, MSG(0, "openAPIV3Schema", JSONSchemaProps));
X(CustomResourceSubresourceScale, 0, STR(0, "specReplicasPath"),
  STR(0, "statusReplicasPath"), STRK(0, "labelSelectorPath"));
X(CustomResourceSubresources, 0, RAWJSON(0, "status"),
  MSG(0, "scale", CustomResourceSubresourceScale));
X(CustomResourceColumnDefinition, 0, STR(0, "name"), STR(0, "type"),
  STR(0, "format"), STR(0, "description"), I32(0, "priority"),
  STR(0, "jsonPath"));
X(SelectableField, 0, STR(0, "jsonPath"));
X(CustomResourceDefinitionVersion, 0, STR(0, "name"), BOOL(0, "served"),
  BOOL(0, "storage"), BOOL(0, "deprecated"),
  STRK(0, "deprecationWarning"), MSG(0, "schema", CustomResourceValidation),
  MSG(0, "subresources", CustomResourceSubresources),
  RMSG(0, "additionalPrinterColumns", CustomResourceColumnDefinition),
  RMSG(0, "selectableFields", SelectableField));
X(CustomResourceDefinitionNames, 0, STR(0, "plural"), STR(0, "singular"),
  RSTR(0, "shortNames"), STR(0, "kind"), STR(0, "listKind"),
  RSTR(0, "categories"));
X(ServiceReference, 0, STR(0, "namespace"), STR(0, "name"),
  STRK(0, "path"), I32K(0, "port"));
X(WebhookClientConfig, 0, STRK(0, "url"),
  MSG(0, "service", ServiceReference), BYTES(0, "caBundle"));
X(WebhookConversion, 0, MSG(0, "clientConfig", WebhookClientConfig),
  RSTR(0, "conversionReviewVersions"));
X(CustomResourceConversion, 0, STR(0, "strategy"),
  MSG(0, "webhook", WebhookConversion));
X(CustomResourceDefinitionSpec, 0, STR(0, "group"),
  MSG(0, "names", CustomResourceDefinitionNames), STR(0, "scope"),
  RMSG(0, "versions", CustomResourceDefinitionVersion),
  MSG(0, "conversion", CustomResourceConversion),
  BOOL(0, "preserveUnknownFields"));
X(CustomResourceDefinitionCondition, 0, STR(0, "type"), STR(0, "status"),
  TIME(0, "lastTransitionTime"), STR(0, "reason"), STR(0, "message"),
  I64(0, "observedGeneration"));
X(CustomResourceDefinitionStatus, 0,
  RMSGM(0, "conditions", CustomResourceDefinitionCondition, "type"),
  MSG(0, "acceptedNames", CustomResourceDefinitionNames),
  RSTR(0, "storedVersions"));
X(CustomResourceDefinition, 0, TYPEMETA, MSG(0, "metadata", ObjectMeta),
  MSG(0, "spec", CustomResourceDefinitionSpec),
  MSG(0, "status", CustomResourceDefinitionStatus));
/* clang-format on */
