import { createContext, useContext } from 'react';
import type { BuilderNode } from './rule-model.js';

/** The key of a control's error in the builder's error map: node id and control name. */
export const errorKey = (nodeId: string, field: string) => `${nodeId}:${field}`;

/** What every part of the condition builder reaches: edits of the tree, errors, segments to pick. */
export interface BuilderContext {
  edit(id: string, change: (node: BuilderNode) => BuilderNode): void;
  add(groupId: string, child: BuilderNode): void;
  remove(id: string): void;
  error(nodeId: string, field: string): string | undefined;
  segments: ReadonlyArray<{ id: string; name: string }>;
  /** The workspace's topics, score models and stages, offered where a condition names one. */
  definitions?: WorkspaceDefinitions | undefined;
  /** Event names the workspace has seen (and Mops's own), offered where a condition names an event. */
  eventNames?: readonly string[] | undefined;
}

export interface WorkspaceDefinitions {
  models: ReadonlyArray<{ id: string; name: string }>;
  stages: readonly string[];
  topics: ReadonlyArray<{ id: string; name: string }>;
}
export const BuilderContextProvider = createContext<BuilderContext | undefined>(undefined);
export const useBuilder = () => useContext(BuilderContextProvider) as BuilderContext;
